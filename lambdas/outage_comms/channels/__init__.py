"""Delivery channels: one adapter per channel behind :class:`base.ChannelAdapter`."""
