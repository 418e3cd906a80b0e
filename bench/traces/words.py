import json, random, collections
random.seed(7)
words = ["".join(random.choice("abcdefghij") for _ in range(random.randint(2, 9))) for _ in range(1000)]
counts = collections.Counter(words)
doc = {w: {"n": n, "rank": i} for i, (w, n) in enumerate(counts.most_common())}
text = json.dumps(doc)
back = json.loads(text)
print(len(back), sorted(back)[:3])
