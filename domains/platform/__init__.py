"""The platform operations domain: health checks of the platform's services and webhook intake."""
