"""How the flows are served, scheduled and started; the local stack and the command line."""
