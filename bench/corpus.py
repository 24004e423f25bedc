"""Text for the growth benchmark's stored messages, contacts and subjects: deterministic, with
word frequencies like real text (a few words in most messages, most words rare), so that
search meets common words, rare words and everything between.

Words are drawn log-uniformly from a 20,000-word vocabulary, which gives Zipf's law: the first
word is in about half the messages, the hundredth in about one in a hundred, the last in a few
dozen of a million. The first hundred or so are everyday support words (a few with accents);
the rest are made-up words of two to four syllables.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Iterator

VOCABULARY_SIZE = 20_000
COMMON = ["the", "to", "and", "i", "my", "you", "is", "a", "for", "it", "of", "order", "please", "in", "not", "have", "thanks", "on", "this", "hello", "can", "be", "with", "delivery", "refund", "was", "we", "me", "at", "help", "account", "invoice", "payment", "when", "but", "package", "today", "still", "your", "problem", "password", "card", "number", "are", "received", "why", "what", "how", "there", "an", "from", "tracking", "address", "email", "phone", "broken", "wrong", "missing", "shipped", "arrived", "yesterday", "week", "cancel", "subscription", "price", "charged", "twice", "return", "exchange", "size", "colour", "store", "online", "app", "login", "error", "update", "support", "agent", "urgent", "soon", "waiting", "days", "café", "josé", "müller", "señor", "naïve", "façade", "crème", "brûlée", "über", "straße"]
SYLLABLES = ["ka", "ro", "mi", "ten", "sal", "vo", "dri", "lu", "pe", "qua", "zen", "bor", "fi", "gal", "ne", "tor", "plu", "ash", "mer", "quin", "dal", "ev", "os", "tri", "ban", "cel", "hu", "jor", "lek", "mon"]
FIRST_NAMES = ["José", "María", "François", "Zoë", "Renée", "Łukasz", "Søren", "Ana", "Ben", "Chloé", "Dmitri", "Élodie", "Fatima", "Günter", "Hana", "Ibrahim", "Jürgen", "Kai", "Léa", "Mateo", "Noémie", "Oskar", "Paula", "Quentin", "Raúl", "Sofía", "Tomás", "Ulla", "Valentín", "Wiebke", "Xavier", "Yusuf", "Zoltán", "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter"]
LAST_NAMES = ["Müller", "García", "Núñez", "Öztürk", "Schröder", "Pérez", "Lefèvre", "Dvořák", "Kowalski", "Jensen", "Rossi", "Silva", "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Bernard", "Dubois", "Fernández", "López", "Gómez", "Díaz", "Moreau", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Schmid"]


def ascii_lower(text: str) -> str:
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()


def vocabulary() -> list[str]:
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    rng = random.Random(7)
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Corpus:
    def __init__(self, seed: int = 1) -> None:
        self.words = vocabulary()
        self.rng = random.Random(seed)
        self._log = math.log(len(self.words))

    def word(self) -> str:
        return self.words[min(len(self.words) - 1, int(math.exp(self.rng.random() * self._log)) - 1)]

    def text(self, count: int) -> str:
        return " ".join(self.word() for _ in range(count))

    def message(self, index: int) -> str:
        """A message of 6 to 16 words; every tenth quotes a reference nobody else does."""
        return self.text(6 + index % 11) + (f" ref R{index}" if index % 10 == 0 else "")


def contact(index: int) -> tuple[str, str | None, str]:
    """Name, email (every other contact) and phone of contact ``index``."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    email = f"{ascii_lower(first)}.{ascii_lower(last)}{index}@example.com" if index % 2 == 0 else None
    return f"{first} {last}", email, f"+49 30 {index:07d}"


def messages(corpus: Corpus, count: int, tickets: int) -> Iterator[tuple[int, str]]:
    """(ticket id, text) of ``count`` messages spread over ``tickets`` tickets."""
    for index in range(1, count + 1):
        yield (index - 1) % tickets + 1, corpus.message(index)
