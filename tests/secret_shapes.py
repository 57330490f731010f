"""Secrets of every shape `tracker.values` redacts, for the tests that plant them.

Each entry is the secret as a user would log it and the part of it that must never be
stored (the provider's prefix, such as ``hf_``, is kept on purpose).
"""

from __future__ import annotations

HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
SHAPES = {  # a secret of each shape, and the part of it that must not be stored
    "huggingface": (HF, HF[3:]),
    "openai": ("sk-proj-" + "Zx9" * 10, "Zx9" * 10),
    "github": ("ghp_" + "G1t" * 12, "G1t" * 12),
    "github_oauth": ("gho_" + "O4u" * 12, "O4u" * 12),
    "github_pat": ("github_pat_" + "P4t_" * 10, "P4t_" * 10),
    "slack": ("xoxb-123456789012-abcdefABCDEF", "123456789012-abcdefABCDEF"),
    "aws": ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
    "aws_session": ("ASIAY34FZKBOKMUTVV7A", "Y34FZKBOKMUTVV7A"),
    "jwt": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
    "uri": ("postgresql://trainer:Pa55w0rd-xyz@db.internal:5432/runs", "Pa55w0rd-xyz"),
    "uri_with_at": ("mysql://u:p@ss-w0rd@host/db", "ss-w0rd"),
    "assignment": ("host=db password=hunter2-x port=5432", "hunter2-x"),
    "query": ("https://example.test/upload?sig=1&token=t0k3n-v4lue&x=2", "t0k3n-v4lue"),
    "json_text": ('{"api_key": "k3y-v4lue w1th space"}', "k3y-v4lue"),
    "header": ("Authorization: Bearer abcDEF123456.ghi", "abcDEF123456"),
    "pem": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA7x",
    ),
}
