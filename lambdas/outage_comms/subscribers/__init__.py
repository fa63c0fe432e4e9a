"""Subscribers: who asked to hear about which components, in which language, on which channel."""
