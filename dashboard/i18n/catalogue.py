"""The interface texts, read from gettext catalogues: locale/<code>/LC_MESSAGES/messages.po, one per language.

In a .po file the msgid is the key the code asks for and the msgstr the text, with {placeholders} for str.format.
A language is a folder: `load` lists the folders it finds, Vietnamese first. Its "Language:" header names the Babel
locale used for numbers and dates (vi_VN, en).
Babel compiles each .po into messages.mo beside it the first time it is read, and again whenever the .po changes (the
.mo carries the .po's modification time), so later starts read the compact file. Where the package folder is
read-only the .po is parsed at every start. Fuzzy and empty entries are not used, as with gettext.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
SOURCE_LANGUAGE = "vi"


@dataclass(frozen=True)
class Language:
    code: str  # the folder's name, also the value of ?lang=
    locale: str  # the Babel locale identifier from the catalogue's header
    texts: dict[str, str]


def po_path(code: str, directory: Path = LOCALE_DIR) -> Path:
    return directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def language_codes(directory: Path = LOCALE_DIR) -> tuple[str, ...]:
    """The languages with a catalogue in `directory`: Vietnamese first, then the others by code."""
    codes = {path.parent.parent.name for path in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(codes, key=lambda code: (code != SOURCE_LANGUAGE, code)))


def load(directory: Path = LOCALE_DIR) -> dict[str, Language]:
    """Every language of `directory`, in the order of `language_codes`."""
    return {code: read(code, po_path(code, directory)) for code in language_codes(directory)}


def read(code: str, po: Path) -> Language:
    mo = po.with_suffix(".mo")
    source_time = po.stat().st_mtime_ns
    try:
        fresh = mo.stat().st_mtime_ns == source_time
    except OSError:
        fresh = False
    if fresh:
        from babel.messages.mofile import read_mo

        with mo.open("rb") as handle:
            catalog = read_mo(handle)
    else:
        from babel.messages.pofile import read_po

        with po.open("rb") as handle:
            catalog = read_po(handle, ignore_obsolete=True)
        _compile(catalog, mo, source_time)
    texts = {
        message.id: message.string
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }
    return Language(code, str(catalog.locale) if catalog.locale else code, texts)


def _compile(catalog, mo: Path, source_time: int) -> None:
    """Write the .mo atomically (concurrent starts may compile at once); a read-only folder is no error."""
    from babel.messages.mofile import write_mo

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{DOMAIN}-", suffix=".mo", dir=mo.parent)
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as output:
            write_mo(output, catalog, use_fuzzy=False)
        os.chmod(temporary, 0o644)  # readable like the .po (mkstemp makes the file private)
        os.utime(temporary, ns=(source_time, source_time))
        os.replace(temporary, mo)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
