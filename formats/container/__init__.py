"""The ``.dsz`` container, version 2.0; reads 1.0 too (normative description: ``spec/FORMAT.md``).

Modules: :mod:`preamble` (magic, version, sizes), :mod:`header_codec` (the zlib-stored
header, bounded inflate), :mod:`wire` (canonical msgpack), :mod:`header` and :mod:`records`
(typed header, implicit fields), :mod:`table` (the 2.0 tensor table and checks blob),
:mod:`layout` (payload ranges), :mod:`payload` (tensor <->
bytes, integrity), :mod:`sparse` (SPARSE bitmap + byte planes), :mod:`limits`, :mod:`writer`,
:mod:`reader`.
"""

from formats.container.header import Header, Producer
from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.preamble import FORMAT_MAJOR, FORMAT_MINOR, MAGIC, PREAMBLE_SIZE
from formats.container.reader import Reader, loads, open_dsz
from formats.container.records import TensorRecord
from formats.container.writer import Writer, dumps, save

__all__ = [
    "DEFAULT_LIMITS",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "MAGIC",
    "PREAMBLE_SIZE",
    "Header",
    "Limits",
    "Producer",
    "Reader",
    "TensorRecord",
    "Writer",
    "dumps",
    "loads",
    "open_dsz",
    "save",
]
