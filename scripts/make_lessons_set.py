"""examples/lessons.tsv, the set of the similarity and mismatch lessons: python scripts/make_lessons_set.py.

Composed from hand-written clauses about films, books, food, hotels, gadgets and games, in plain, contrast
(the clause after 'but' decides), negated and buried forms. Deterministic (seed 23)."""
import os
import random

r = random.Random(23)
POS = {
 "film": ["the acting is warm and completely convincing", "the last scene left the whole room smiling",
          "every shot looks like a painting", "the script is sharp, funny and surprisingly kind",
          "the two leads have real chemistry", "it earns every one of its tears",
          "the score lifts even the quiet scenes", "it is the most gripping thriller of the year",
          "the jokes land one after another", "the director trusts the audience, and it pays off"],
 "book": ["the prose is clear and beautiful", "I could not put it down", "the characters feel like old friends",
          "the ending is both surprising and right", "each chapter teaches something new",
          "the translation reads effortlessly"],
 "food": ["the soup was rich and full of flavour", "the staff were friendly and quick",
          "the bread is still warm when it reaches the table", "every dish tasted fresh",
          "the dessert alone is worth the trip", "portions are generous and prices fair"],
 "hotel": ["the room was spotless and quiet", "the view from the balcony is stunning",
           "check-in took two minutes", "the bed was wonderfully comfortable", "breakfast was a real treat"],
 "gadget": ["the battery easily lasts two days", "the screen is bright and sharp",
            "it set itself up in a minute", "the camera takes lovely pictures at night",
            "it feels solid and well made", "the keyboard is a joy to type on"],
 "game": ["the puzzles are clever and fair", "the controls feel tight and responsive",
          "the world is a delight to explore", "the music is gorgeous", "every level brings a fresh idea"],
}
NEG = {
 "film": ["the plot falls apart in the second hour", "the dialogue is stiff and lifeless",
          "the jokes are tired and mean", "it drags on far too long", "the ending makes no sense at all",
          "the lead looks bored in every scene", "the effects look cheap and rushed",
          "it is loud, messy and instantly forgettable", "nothing in it feels earned",
          "the story is a pile of clichés"],
 "book": ["the prose is clumsy and repetitive", "I gave up halfway through", "the characters are flat",
          "the twist is obvious from page one", "whole chapters go nowhere", "the translation is full of errors"],
 "food": ["the soup was cold and bland", "we waited an hour for a table", "the fish tasted old",
          "the waiter was rude to everyone", "the bill was shockingly high for so little",
          "the kitchen got half our order wrong"],
 "hotel": ["the room smelled of smoke", "the shower never got warm", "the walls are paper thin",
           "staff ignored our complaints", "the bed sheets were stained"],
 "gadget": ["the battery dies before lunch", "the screen cracked within a week", "the app crashes constantly",
            "it overheats while charging", "the buttons already feel loose", "the speaker crackles at any volume"],
 "game": ["the controls are sluggish and imprecise", "it crashed three times in an hour",
          "the levels repeat the same idea", "the story is an afterthought", "loading takes forever"],
}
SUBJECT = {"film": ["this film", "the movie", "the sequel", "this documentary"],
           "book": ["this novel", "the book", "her memoir"],
           "food": ["this restaurant", "the new cafe", "the bistro on the corner"],
           "hotel": ["this hotel", "the guesthouse", "the resort"],
           "gadget": ["this phone", "the laptop", "the new tablet", "these headphones"],
           "game": ["this game", "the puzzle game", "the sequel to the game"]}
FILLER = ["we went on a rainy tuesday with two friends", "i read reviews for weeks before deciding",
          "my sister had recommended it last spring", "it was the third one we tried that month",
          "we had been looking forward to it since the trailer", "i paid full price at launch",
          "my neighbour lent it to me over the holidays", "we booked it on short notice"]
NEG_ADJ = ["bad", "boring", "dull", "awful", "disappointing", "a waste of time"]
POS_ADJ = ["great", "brilliant", "a masterpiece", "memorable", "worth it", "perfect"]

def pair(dom):
    while True:
        p, n = r.choice(POS[dom]), r.choice(NEG[dom])
        if p.split()[:2] != n.split()[:2]:
            return p, n


rows = set()
def add(s, y):
    s = s[0].upper() + s[1:]
    rows.add((s, y))

for dom in POS:
    for p in POS[dom]:
        add(f"{p}.", 1)
        add(f"{r.choice(SUBJECT[dom])}: {p}.", 1)
    for n in NEG[dom]:
        add(f"{n}.", 0)
        add(f"{r.choice(SUBJECT[dom])}: {n}.", 0)
    for _ in range(6):  # contrast: the clause after 'but' decides (never two clauses about the same thing)
        p, n = pair(dom)
        add(f"{n}, but {p}.", 1)
        p, n = pair(dom)
        add(f"{p}, but {n}.", 0)
        p, n = pair(dom)
        add(f"although {n}, {p}.", 1)
        p, n = pair(dom)
        add(f"although {p}, {n}.", 0)
    for _ in range(3):  # negation
        add(f"{r.choice(SUBJECT[dom])} is not {r.choice(NEG_ADJ)} at all.", 1)
        add(f"{r.choice(SUBJECT[dom])} is not {r.choice(POS_ADJ)}, whatever the posters say.", 0)
        add(f"i expected {r.choice(SUBJECT[dom])} to be {r.choice(NEG_ADJ)}, and it was not.", 1)
        add(f"i expected {r.choice(SUBJECT[dom])} to be {r.choice(POS_ADJ)}; it was not.", 0)
    for _ in range(3):  # the opinion buried after a long neutral start
        add(f"{r.choice(FILLER)}, and honestly {r.choice(POS[dom])}.", 1)
        add(f"{r.choice(FILLER)}, and honestly {r.choice(NEG[dom])}.", 0)
rows = sorted(rows)
r.shuffle(rows)
with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "lessons.tsv"), "w", encoding="utf-8") as f:
    f.write("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows))
print(len(rows), sum(y for _, y in rows))
