"""Nexus email channel: IMAP and SMTP in, SMTP out, threading and loop protection.

Installed as a distribution, it registers the ``email`` channel type through the ``nexus``
entry point. See the README for the settings.
"""

from __future__ import annotations

import nexus

from nexus_email.channel import EmailChannel
from nexus_email.config import EmailConfig

__all__ = ["EmailChannel", "EmailConfig"]


@nexus.hookimpl
def nexus_register_channel_types(register):
    register(EmailChannel)
