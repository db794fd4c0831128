import numpy as np, pandas as pd, sys
sys.path.insert(0, '/work/scratch-base/src')
from zeroshot_news.evaluate import split_tune_test
from sklearn.metrics import f1_score, average_precision_score
R = '/work/scratch/r/'
LABELS = ['regional_security', 'diplomacy', 'military']
arts = pd.read_parquet(R + 'arts.parquet')
pas = pd.read_parquet(R + 'passages.parquet')
Ep = np.load(R + 'E_pass.npy'); El = np.load(R + 'E_lede.npy')
gold = pd.read_csv('/work/scratch-base/data/gold/gold.csv')
pos = {p: i for i, p in enumerate(arts.path)}
_b = pd.read_parquet('/work/scratch-base/data/processed/articles.parquet', columns=['path'])
gold = gold[gold.item_id.isin(set(_b.path))].reset_index(drop=True)
gold['split'] = split_tune_test(gold, 0)  # exactly the evaluate stage's split (matched bundled gold)
gold = gold[gold.item_id.isin(pos)].reset_index(drop=True)
gidx = gold.item_id.map(pos).to_numpy()
Y = gold[LABELS].to_numpy()
doc_of = pas.doc_id.map({d: i for i, d in enumerate(arts.doc_id)}).to_numpy()
# doc vector = normalized mean of passage embeddings
D = np.zeros((len(arts), Ep.shape[1])); np.add.at(D, doc_of, Ep)
D /= np.linalg.norm(D, axis=1, keepdims=True)
bundled = np.zeros(len(arts), bool)
import pyarrow.parquet as pq
b = pd.read_parquet('/work/scratch-base/data/processed/articles.parquet', columns=['doc_id'])
bundled[arts.doc_id.isin(set(b.doc_id)).to_numpy()] = True

def report(name, scores, pred, quiet=False):
    out = {}
    for part in ['all', 'tune', 'test']:
        m = np.ones(len(gold), bool) if part == 'all' else (gold.split == part).to_numpy()
        f1 = f1_score(Y[m], pred[m], average='macro', zero_division=0)
        ap = np.mean([average_precision_score(Y[m, j], scores[m, j]) for j in range(3)])
        out[part] = (round(f1, 3), round(ap, 3))
    perlab = [round(f1_score(Y[:, j], pred[:, j], zero_division=0), 2) for j in range(3)]
    if not quiet:
        print(f"{name:<40} all F1/AP {out['all']}  tune {out['tune']}  test {out['test']}  perlabel {perlab}")
    return out

def passage_max(Sp):
    """[P, L] passage scores -> [docs, L] max."""
    out = np.full((len(arts), Sp.shape[1]), -np.inf)
    np.maximum.at(out, doc_of, Sp)
    return out
