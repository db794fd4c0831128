import sys; sys.path.insert(0, '/work/scratch/r')
from common import *
from labels import OLD, NEW, NONE
sys.path.insert(0, '/work/scratch-base/src')
from zeroshot_news.config import load_config
from zeroshot_news.scorers.embedding import EmbeddingScorer
import os; os.chdir('/work/scratch-base')
cfg = load_config('params.yaml'); s = EmbeddingScorer(cfg.model, progress=False)
T = "This text is about {}."
def H(descs): return s.embed([T.format(d) for d in descs]).astype(np.float64)
sig = lambda c: 1 / (1 + np.exp(-20 * (c - 0.25)))
def label_cos(E, labels):  # [N, L] max over descriptions
    return np.stack([(E @ H(labels[l]).T).max(1) for l in LABELS], 1)
P_old = label_cos(Ep, OLD); P_new = label_cos(Ep, NEW)
Pn = (Ep @ H(NONE).T).max(1, keepdims=True)
for name, P in [('old', P_old), ('new', P_new)]:
    S = passage_max(sig(P))[gidx]
    report(f'{name} sigmoid max thr0.5', S, (S >= 0.5).astype(int))
    # z-score over bundled pool (passage max cos)
    M = passage_max(P)
    for poolname, pool in [('bundled', bundled), ('bbcfull', np.ones(len(arts), bool))]:
        Z = (M - M[pool].mean(0)) / M[pool].std(0)
        for zt in [1.0, 1.5]:
            report(f'{name} z({poolname})>={zt}', Z[gidx], (Z[gidx] >= zt).astype(int))
    C = passage_max(P - Pn)  # contrast with none descriptions
    report(f'{name} contrast>0', C[gidx], (C[gidx] > 0).astype(int))
    Cm = passage_max(P - Pn)
np.save(R + 'P_old.npy', P_old); np.save(R + 'P_new.npy', P_new); np.save(R + 'Pn.npy', Pn)
# lede versions
for name, lab in [('old', OLD), ('new', NEW)]:
    L = label_cos(El, lab)[gidx]
    report(f'LEDE {name} sigmoid thr0.5', sig(L), (sig(L) >= 0.5).astype(int))
