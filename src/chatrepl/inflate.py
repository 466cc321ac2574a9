"""Compressed bodies decoded as their bytes arrive: gzip and deflate by zlib, br when a
brotli module happens to be installed (never a dependency of ours)."""

from __future__ import annotations

import zlib
from typing import Any


def _brotli() -> Any:
    """A brotli module when one is installed (never a dependency of ours), or None."""
    for name in ("brotli", "brotlicffi"):
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


_BROTLI = _brotli()
# What urllib3 offers too: gzip and deflate always, br when a decoder is installed.
ACCEPT_ENCODING = "gzip, deflate" + (", br" if _BROTLI is not None else "")


class Inflater:
    """Incremental decoding of a compressed body, as its bytes arrive.

    `raw.read1` hands over the bytes as they came off the wire, before urllib3's own
    decoding, so that each token shows the moment it arrives; the decoding happens here,
    piece by piece, with nothing held back that zlib could already give.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        if encoding in ("gzip", "x-gzip"):
            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
        elif encoding == "br" and _BROTLI is not None:
            self._z = _BROTLI.Decompressor()
        else:
            raise ValueError(encoding)
        self._started = False

    def feed(self, data: bytes) -> bytes:
        try:
            if self.encoding == "br":
                return bytes(self._z.process(data))
            if not self._started and self.encoding == "deflate":
                self._started = True
                try:
                    return bytes(self._z.decompress(data))
                except zlib.error:  # servers that send raw deflate, without the zlib header
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            return bytes(self._z.decompress(data))
        except Exception as exc:  # zlib.error, brotli.error: the bytes are not that encoding
            raise ValueError(str(exc)) from None

    def close(self) -> bytes:
        if self.encoding == "br":
            return b""
        try:
            return bytes(self._z.flush())
        except zlib.error as exc:
            raise ValueError(str(exc)) from None
