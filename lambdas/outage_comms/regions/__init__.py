"""Two-region engine at run time: which region drives an incident (a fenced lease), when ownership
moves (failover on a health signal, failback only between updates), and how it is recorded."""
