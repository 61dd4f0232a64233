"""HubSpot operators."""
