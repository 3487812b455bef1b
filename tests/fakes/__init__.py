"""Stand-ins for outside systems that tests talk to over real sockets."""
