"""Process configuration: settings, logging and the Redis config file."""
