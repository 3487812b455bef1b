-- Each service owns its own database (ARCHITECTURE.md section 3). PostgreSQL runs this only on
-- an empty data volume: on one made before a service existed, create its database by hand.
CREATE DATABASE catalog;
CREATE DATABASE intake;
CREATE DATABASE status;
CREATE DATABASE notify;
CREATE DATABASE postal;
