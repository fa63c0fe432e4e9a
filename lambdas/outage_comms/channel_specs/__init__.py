"""What each channel is (its :class:`~outage_comms.channel_specs.spec.ChannelSpec`) and the registry of them.

Below the plan and the adapters: these modules import only the vocabulary, and name code (adapter
factories, settings models, CDK wiring) by ``"module:attr"`` strings resolved where it is used.
"""
