import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from exp3 import P, Pn
from sklearn.linear_model import LogisticRegression
import os; os.chdir('/work/scratch-base'); sys.path.insert(0, '/work/scratch-base/src')
from zeroshot_news.config import load_config
from zeroshot_news.scorers.embedding import EmbeddingScorer
from labels import NEW, NONE
cfg = load_config('params.yaml'); s = EmbeddingScorer(cfg.model, progress=False)
T = "This text is about {}."
H = {l: s.embed([T.format(d) for d in NEW[l]]).astype(np.float64) for l in LABELS}
Hn = s.embed([T.format(d) for d in NONE]).astype(np.float64)
def contr(E): return np.stack([(E @ H[l].T).max(1) for l in LABELS], 1) - (E @ Hn.T).max(1, keepdims=True)
Cp = contr(Ep.astype(np.float64)); Cl = contr(El.astype(np.float64))
pp = bundled[doc_of]
def fit(Xpool, Spool, pf, nf, C):
    W = []
    for j in range(3):
        o = np.argsort(-Spool[:, j], kind='stable'); n = len(o); npos, nneg = int(pf*n), int(nf*n)
        idx = np.r_[o[:npos], o[n-nneg:]]; y = np.r_[np.ones(npos), np.zeros(nneg)]
        W.append(LogisticRegression(C=C, max_iter=3000).fit(Xpool[idx], y))
    return lambda X: np.stack([w.predict_proba(X)[:, 1] for w in W], 1)
for name, Xpool, Spool in [('passages', Ep[pp], Cp[pp]),
                           ('passages+ledes', np.r_[Ep[pp], El[bundled]], np.r_[Cp[pp], Cl[bundled]])]:
    for pf, nf, C in [(0.08, 0.7, 3.0), (0.1, 0.7, 3.0), (0.1, 0.7, 1.0)]:
        f = fit(Xpool, Spool, pf, nf, C)
        S = passage_max(f(Ep)); a = report(f'{name} pf{pf} nf{nf} C{C}', S[gidx], (S[gidx] >= .5).astype(int))
        Sl = f(El); b = report('   LEDE', Sl[gidx], (Sl[gidx] >= .5).astype(int))
        print(f'   criterion {(a["tune"][0] + b["tune"][0]) / 2:.3f}')
