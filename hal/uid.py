"""Card UID normalisation shared by every card reader.

ISO/IEC 14443-3 UIDs are 4 (single), 7 (double) or 10 (triple size) bytes. They become upper-case
hexadecimal idTags of 8, 14 or 20 characters; a 10-byte UID fills OCPP 1.6's 20-character idTag
exactly, so nothing is ever truncated.
"""

UID_LENGTHS = (4, 7, 10)


def normalise_uid(uid: bytes | str) -> str:
    """Return the upper-case hex form of a card UID given as bytes or as hex text.

    Hex text may contain separators (`04:a1 b2-c3`). Raises ValueError for anything that is not a
    4-, 7- or 10-byte UID, so garbage from a reader never becomes an idTag.
    """
    if isinstance(uid, str):
        text = "".join(ch for ch in uid if ch not in ":- ")
        try:
            uid = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"card UID {text!r} is not hexadecimal") from None
    if len(uid) not in UID_LENGTHS:
        raise ValueError(f"card UID has {len(uid)} bytes; ISO 14443 UIDs have 4, 7 or 10")
    return uid.hex().upper()


def mask_uid(uid: str) -> str:
    """The form of a UID that logs may show outside debug level: its last four hex digits only.

    A full UID is a credential (a cloned card with it charges on the owner's account), so it is
    never written in clear at info level or above.
    """
    return "*" * max(len(uid) - 4, 0) + uid[-4:]
