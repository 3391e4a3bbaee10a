"""Keras's automatic names: snake_case class names made unique per session (dense, dense_1, ...)."""
import collections
import re

_uids = collections.defaultdict(int)


def to_snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def uniquify(name: str) -> str:
    unique = f"{name}_{_uids[name]}" if name in _uids else name
    _uids[name] += 1
    return unique


def auto_name(cls_name: str) -> str:
    return uniquify(to_snake_case(cls_name))


def reset():
    _uids.clear()
