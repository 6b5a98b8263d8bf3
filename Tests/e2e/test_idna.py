"""The email check's domain normalization (libidn2, UTS 46 non-transitional, IDNA2008 with
CONTEXTJ/CONTEXTO and bidi, STD3) compared with an independent implementation, the PyPI
`idna` package, over the corpus in idna_corpus.py; `cpctl domains normalize` runs the same
code as the email check."""
import subprocess

import idna

from idna_corpus import CORPUS

SPECIAL_USE = {"arpa", "invalid", "local", "localhost", "onion", "test"}

# Where the two differ on purpose, and why (each is in the closing note too).
DIFFERENCES = {
    # A trailing full stop in any form is the root, as "acme.com." is: we drop it after mapping;
    # idna sees an empty last label.
    "ｇｍａｉｌ.ｃｏｍ｡": "gmail.com",
    "acme。com。": "acme.com",
}


def reference(domain):
    """idna's UTS 46 answer, with the product's own rules on top (README): one trailing ASCII
    dot dropped, at least two labels, a top level of letters or an A-label, no special-use
    name. Returns the ASCII form or None."""
    name = domain[:-1] if domain.endswith(".") else domain
    try:
        ascii = idna.encode(name, uts46=True, std3_rules=True, transitional=False).decode()
    except idna.IDNAError:
        return None
    labels = ascii.split(".")
    tld = labels[-1]
    if len(labels) < 2 or len(ascii) > 253 or tld in SPECIAL_USE:
        return None
    if not (tld.isascii() and tld.isalpha()) and not tld.startswith("xn--"):
        return None
    return ascii


def ours(env, domains):
    r = subprocess.run([env["CPCTL"], "domains", "normalize"], input="\n".join(domains), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    answers = {}
    for line in r.stdout.split("\n")[:-1]:  # not splitlines(): U+2028 inside a domain is not a line break here
        domain, _, result = line.partition("\t")
        answers[domain] = None if result.startswith("invalid: ") else result
    return answers


def test_the_corpus_is_big_and_varied():
    assert len(CORPUS) >= 300 and len(set(CORPUS)) == len(CORPUS)
    assert sum(not d.isascii() for d in CORPUS) >= 300


def test_normalization_agrees_with_the_idna_package(env):
    answers = ours(env, CORPUS)
    assert set(answers) == set(CORPUS)
    disagreements = {d: (answers[d], reference(d)) for d in CORPUS
                     if answers[d] != DIFFERENCES.get(d, reference(d))}
    assert disagreements == {}
    # Both sides refuse a fair share: the corpus tests rules, not only conversions.
    refused = sum(answers[d] is None for d in CORPUS)
    assert 60 <= refused <= len(CORPUS) - 200, refused


def test_look_alike_forms_of_listed_domains_classify_like_them(env):
    answers = ours(env, ["ＧＭＡＩＬ.com", "ｍａｉｌｉｎａｔｏｒ.com", "gmail．com", "gma\u00adil.com"])
    assert set(answers.values()) == {"gmail.com", "mailinator.com"}
