-- Each service owns its own database (ARCHITECTURE.md section 3).
CREATE DATABASE catalog;
CREATE DATABASE intake;
CREATE DATABASE status;
CREATE DATABASE notify;
