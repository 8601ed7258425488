"""Data-protection rights requests and complaints: logged, answered by an admin by a deadline."""
