"""Typed access to msgpack header maps: each getter raises :class:`HeaderError` naming the field."""

from __future__ import annotations

from typing import Any

from formats.errors import HeaderError

U64_MAX = (1 << 64) - 1


class FieldReader:
    """Reads and type-checks the keys of one header map, then rejects keys nobody read.

    Args:
        data: the decoded map.
        where: human-readable location used in error messages (e.g. ``"tensor 'w'"``).
        lenient: ignore unknown keys (file from a newer minor version) instead of rejecting them.
    """

    def __init__(self, data: Any, where: str, *, lenient: bool) -> None:
        if not isinstance(data, dict):
            raise HeaderError(f"{where} must be a map, got {type(data).__name__}")
        self._data = data
        self._where = where
        self._lenient = lenient
        self._seen = {"ext"}
        ext = data.get("ext", {})
        if not isinstance(ext, dict):
            raise HeaderError(f"{where}: 'ext' must be a map, got {type(ext).__name__}")

    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        if key not in self._data:
            raise HeaderError(f"{self._where} lacks the required field '{key}'")
        return self._data[key]

    def uint(self, key: str, maximum: int = U64_MAX) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise HeaderError(f"{self._where}: '{key}' must be an integer in [0, {maximum}], got {value!r}")
        return value

    def string(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise HeaderError(f"{self._where}: '{key}' must be a string, got {type(value).__name__}")
        return value

    def binary(self, key: str) -> bytes:
        value = self.raw(key)
        if not isinstance(value, bytes):
            raise HeaderError(f"{self._where}: '{key}' must be msgpack bin, got {type(value).__name__}")
        return value

    def real(self, key: str) -> float:
        value = self.raw(key)
        if not isinstance(value, float):
            raise HeaderError(f"{self._where}: '{key}' must be a float, got {type(value).__name__}")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw(key)
        if not isinstance(value, dict):
            raise HeaderError(f"{self._where}: '{key}' must be a map, got {type(value).__name__}")
        return value

    def array(self, key: str) -> list[Any]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise HeaderError(f"{self._where}: '{key}' must be an array, got {type(value).__name__}")
        return value

    def finish(self) -> None:
        """Reject unread keys unless lenient."""
        extra = sorted(set(self._data) - self._seen)
        if extra and not self._lenient:
            raise HeaderError(
                f"{self._where} has unknown field(s) {extra}; a file of this version may only put "
                "extensions under 'ext'"
            )
