"""A small report generator with known hot spots, for pyfold's samples and tests.

Hot spots, by design: JSON decoding (stdlib), regex validation (stdlib), a recursive Fibonacci
(your code), sorting with a key function, and string formatting of the report.
"""
import json
import re
import sys
from collections import Counter

EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")


def make_records(n):
    return json.dumps([{"id": i, "email": f"user{i}@example{i % 7}.com", "score": (i * 7919) % 1000}
                       for i in range(n)])


def parse(text):
    return json.loads(text)


def validate(records):
    return [r for r in records if EMAIL.match(r["email"])]


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def score(record):
    return fib(10 + record["score"] % 8)


def rank(records):
    return sorted(records, key=score, reverse=True)


def render(records):
    domains = Counter(r["email"].split("@")[1] for r in records)
    lines = [f"{r['id']:>6} {r['email']:<30} {r['score']:>4}" for r in records]
    lines += [f"{d}: {c}" for d, c in domains.most_common()]
    return "\n".join(lines)


def main(rounds):
    total = 0
    for _ in range(rounds):
        records = validate(parse(make_records(2000)))
        total += len(render(rank(records)))
    return total


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
