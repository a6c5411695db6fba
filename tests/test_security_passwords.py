"""Password rules, argon2id hashing, one-time passwords."""

from argon2 import Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from console.security import passwords
from console.security.passwords import check_password, one_time_password


def test_rules_refuse_weak_passwords():
    assert check_password("Ab1#", "zhang")  # too short
    assert any("3 类" in p for p in check_password("abcdefgh12", "zhang"))  # two classes only
    assert any("用户名" in p for p in check_password("Zhangsan#2026", "zhangsan"))  # contains username
    assert any("用户名" in p for p in check_password("xxZHANGSANxx1#", "zhangsan"))  # case-insensitive
    assert check_password("aaaaaaaa", "")
    assert check_password("A" * 200 + "a1#", "") != []  # longer than the maximum


def test_rules_accept_strong_passwords():
    assert check_password("Pingan#2026", "zhangsan") == []
    assert check_password("abcdEFGH1234", "li") == []  # three classes suffice
    assert check_password("平安安康2026#ab", "wang") == []


def test_default_hasher_is_argon2id_with_rfc9106_memory():
    hasher = passwords.PasswordHasher(type=Type.ID)  # what the module builds by default
    assert hasher.type is Type.ID and hasher.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost
    assert passwords.HASHER.type is Type.ID or passwords.HASHER.memory_cost < 1024  # tests may swap it
    digest = hasher.hash("Pingan#2026")
    assert digest.startswith("$argon2id$") and "Pingan" not in digest


def test_verify_and_rehash():
    h = passwords.hash_password("Pingan#2026")
    assert passwords.verify_password(h, "Pingan#2026")
    assert not passwords.verify_password(h, "Pingan#2027")
    assert not passwords.verify_password("not-a-hash", "x")
    assert not passwords.verify_password(h, "x" * 10_000)


def test_one_time_passwords_meet_the_rules_and_differ():
    seen = {one_time_password() for _ in range(50)}
    assert len(seen) == 50
    assert all(check_password(p, "admin") == [] for p in seen)


def test_one_time_passwords_are_easy_to_read_and_type():
    """Printed once and typed by hand: no look-alikes and no characters that shells, URLs or IMEs mangle."""
    hard = set("#@%=O0oIl1")
    for _ in range(500):
        pw = one_time_password()
        assert not hard & set(pw), pw
        assert check_password(pw) == []
