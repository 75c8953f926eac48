"""The one error type of the profile tools: `ProfileError`.

Raised for anything that is not a valid profile (bad XML, bad plain-form
syntax, bad gzip stream, wrong AES key / bad padding). The message says what
failed, where (byte offset, line:column or element) and why. No parsing here.
"""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile could not be read; the message names the place and the reason."""
