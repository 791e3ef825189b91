"""The one layer that turns result objects into text: rich for people, JSON for programs."""
