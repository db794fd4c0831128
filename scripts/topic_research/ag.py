import numpy as np, pandas as pd, sys, os
sys.path.insert(0, '/work/scratch-base/src'); os.chdir('/work/scratch-base')
from sklearn.linear_model import LogisticRegression
from zeroshot_news.config import load_config
from zeroshot_news.scorers.embedding import EmbeddingScorer
R = '/work/scratch/r/'
E = np.load(R + 'E_ag.npy').astype(np.float64); ag = pd.read_parquet(R + 'ag.parquet'); y = ag.y.to_numpy() - 1
cfg = load_config('params.yaml'); s = EmbeddingScorer(cfg.model, progress=False)
classes = ['World', 'Sports', 'Business', 'Sci/Tech']
labs = cfg.benchmark.labels
H = [s.embed(["This text is about {}.".format(d) for d in labs[c]]).astype(np.float64) for c in classes]
S = np.stack([(E @ h.T).max(1) for h in H], 1)
print('zero-shot raw', (S.argmax(1) == y).mean())
def z(S): return (S - S.mean(0)) / S.std(0)
print('zero-shot z', (z(S).argmax(1) == y).mean())
def selftrain(Efit, Sfit, Epred, frac=0.3, rounds=2, C=1.0):
    sig = z(Sfit)
    for r in range(rounds):
        pred = sig.argmax(1); srt = np.sort(sig, 1); margin = srt[:, -1] - srt[:, -2]
        idx = []
        for k in range(4):
            m = np.flatnonzero(pred == k)
            idx.extend(m[np.argsort(-margin[m], kind='stable')[:max(1, int(frac * len(m)))]])
        idx = np.array(idx)
        clf = LogisticRegression(C=C, max_iter=3000).fit(Efit[idx], pred[idx])
        sig = clf.predict_proba(Efit)
    return clf.predict_proba(Epred)
rng = np.random.default_rng(0); perm = rng.permutation(len(y)); A, B = perm[:len(y)//2], perm[len(y)//2:]
pred = np.zeros(len(y), int)
pred[B] = selftrain(E[A], S[A], E[B]).argmax(1); pred[A] = selftrain(E[B], S[B], E[A]).argmax(1)
print('cross-fit self-train acc', (pred == y).mean())
