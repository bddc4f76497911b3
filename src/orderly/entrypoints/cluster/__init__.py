"""`orderly cluster`: a distributed deployment on one machine, from one config file, under a
process supervisor (supervisord) that restarts what dies."""
