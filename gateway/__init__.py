"""The sign-in gateway: the one way in for the team, in front of the Prefect UI and API (docs/gateway.md)."""
