"""Attacks on the suite, each against a real Odoo server (and the real bridge and broker where they take
part): every one failed on the code before issue 11 and must keep failing to succeed."""
