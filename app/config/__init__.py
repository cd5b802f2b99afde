"""Settings, the workspace folder and the people directory."""
