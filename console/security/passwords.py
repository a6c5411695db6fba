"""Password hashing (argon2id), complexity rules and one-time passwords. Messages are Chinese."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's RFC 9106 "low memory" profile: argon2id, t=3, m=64 MiB, p=4.
HASHER = PasswordHasher(type=Type.ID)
MAX_LENGTH = 128  # longer inputs are refused before hashing (no CPU/memory abuse)

_CLASSES = (
    ("小写字母", str.islower),
    ("大写字母", str.isupper),
    ("数字", str.isdigit),
    ("符号", lambda c: not c.isalnum()),
)


def set_hasher(hasher: PasswordHasher) -> None:
    """Tests use a cheaper argon2id; production keeps the default."""
    global HASHER, _DUMMY
    HASHER = hasher
    _DUMMY = None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


_DUMMY: str | None = None


def burn_time(password: str) -> None:
    """Verify against a dummy hash so an unknown user costs the same time as a known one."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = HASHER.hash(secrets.token_hex(16))
    verify_password(_DUMMY, password or "x")


def check_password(password: str, username: str = "", *, min_length: int = 8, min_classes: int = 3) -> list[str]:
    """Reasons the password is not acceptable (empty list: acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"密码长度不能少于 {min_length} 位")
    if len(password) > MAX_LENGTH:
        problems.append(f"密码长度不能超过 {MAX_LENGTH} 位")
    classes = sum(1 for _, test in _CLASSES if any(test(c) for c in password))
    if classes < min_classes:
        problems.append(f"密码须包含大写字母、小写字母、数字、符号中的至少 {min_classes} 类")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    if password and len(set(password)) <= 2:
        problems.append("密码不能由重复字符组成")
    return problems


def one_time_password(length: int = 16) -> str:
    """A random password meeting every rule (all four classes) that a person reads off a screen and types: no
    look-alike characters (O/0, l/1/I, o) and no symbols that shells, URLs or keyboards mangle (#, @, %, =)."""
    lower = "abcdefghjkmnpqrstuvwxyz"
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    symbols = "+-_"
    pool = lower + upper + digits + symbols
    while True:
        chars = [secrets.choice(pool) for _ in range(length)]
        if all(any(c in group for c in chars) for group in (lower, upper, digits, symbols)):
            return "".join(chars)


assert set(string.punctuation) >= set("+-_")
