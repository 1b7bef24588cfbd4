"""Regenerate tf_reference.npz: outputs of TensorFlow-Keras layers on fixed inputs, with their
weights, for tests/keras/test_tf_reference.py. Not run by the tests (TensorFlow is not a test
dependency); run it by hand in an environment with tensorflow-cpu 2.21:

    /work/tfenv/bin/python tests/keras/data/make_tf_reference.py
"""
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, tensorflow as tf
keras=tf.keras
rng=np.random.default_rng(0)
out={}
x=rng.standard_normal((3,6,5)).astype(np.float32)
out["x"]=x
def rec(name, layer, inp, **kw):
    y=layer(inp, **kw)
    ys = y if isinstance(y,(list,tuple)) else [y]
    for i,w in enumerate(layer.get_weights()): out[f"{name}_w{i}"]=w
    for i,v in enumerate(ys): out[f"{name}_y{i}"]=np.asarray(v)
rec("lstm_gb", keras.layers.LSTM(4, return_sequences=True, return_state=True, go_backwards=True), x)
rec("gru", keras.layers.GRU(4, return_sequences=True), x)
rec("gru_gb", keras.layers.GRU(4, go_backwards=True, return_state=True), x)
rec("rnn", keras.layers.SimpleRNN(4, return_sequences=True, go_backwards=True), x)
rec("bi", keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True), merge_mode="concat"), x)
rec("bi_sum", keras.layers.Bidirectional(keras.layers.GRU(4), merge_mode="sum"), x)
ids=np.array([[0,0,3,4,5,2],[0,1,2,3,4,5],[0,0,0,0,7,1]])
out["ids"]=ids
emb=keras.layers.Embedding(10,5,mask_zero=True)
e=emb(ids)
out["emb_w"]=emb.get_weights()[0]
m=emb.compute_mask(ids)
l=keras.layers.LSTM(4, return_sequences=True); y=l(e, mask=m)
out["mlstm_y"]=np.asarray(y); 
for i,w in enumerate(l.get_weights()): out[f"mlstm_w{i}"]=w
l2=keras.layers.LSTM(4); y2=l2(e, mask=m); out["mlstm2_y"]=np.asarray(y2)
for i,w in enumerate(l2.get_weights()): out[f"mlstm2_w{i}"]=w
gap=keras.layers.GlobalAveragePooling1D(); out["gap_y"]=np.asarray(gap(e, mask=m))
bn=keras.layers.BatchNormalization(); xb=rng.standard_normal((8,4,4,3)).astype(np.float32); out["bn_x"]=xb
out["bn_ytrain"]=np.asarray(bn(xb, training=True)); 
for i,w in enumerate(bn.get_weights()): out[f"bn_w{i}"]=w
out["bn_yinf"]=np.asarray(bn(xb, training=False))
c1=keras.layers.Conv1D(3,3,padding="same",strides=2); out["c1s_y"]=np.asarray(c1(x)); out["c1s_w0"],out["c1s_w1"]=c1.get_weights()
c2=keras.layers.Conv1D(3,3,padding="causal"); out["c1c_y"]=np.asarray(c2(x)); out["c1c_w0"],out["c1c_w1"]=c2.get_weights()
ap=keras.layers.AveragePooling2D(2, padding="same"); xi=rng.standard_normal((2,5,5,3)).astype(np.float32); out["ap_x"]=xi; out["ap_y"]=np.asarray(ap(xi))
ln=keras.layers.LayerNormalization(); out["ln_y"]=np.asarray(ln(x))
mha=keras.layers.MultiHeadAttention(num_heads=2, key_dim=3); q=x; v=rng.standard_normal((3,4,5)).astype(np.float32); out["mha_v"]=v
y, s = mha(q, v, return_attention_scores=True); out["mha_y"]=np.asarray(y); out["mha_s"]=np.asarray(s)
for i,w in enumerate(mha.get_weights()): out[f"mha_w{i}"]=w
tv=keras.layers.TextVectorization(max_tokens=8, output_sequence_length=5)
tv.adapt(["The cat sat.", "the dog sat on the mat", "A cat!"])
out["tv_vocab"]=np.array(tv.get_vocabulary()); out["tv_y"]=np.asarray(tv(["the cat ate the mat", "dog"]))
np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf_reference.npz"), **out)
print("ok", tf.__version__)
