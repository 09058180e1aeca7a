#!/usr/bin/env python3
"""Sets the file-size and header-checksum fields of .emoe files, in place, as the fuzz target does.

usage: Fuzz/seal-container.py FILE.emoe...  (for committing container regression inputs)
"""
import struct, sys
P1,P2,P3,P4,P5=11400714785074694791,14029467366897019727,1609587929392839161,9650029242287828579,2870177450012600261
M=(1<<64)-1
rotl=lambda x,r: ((x<<r)|(x>>(64-r)))&M
def rnd(acc,inp): acc=(acc+inp*P2)&M; acc=rotl(acc,31); return (acc*P1)&M
def merge(acc,val): val=rnd(0,val); acc^=val; return (acc*P1+P4)&M
def xxh64(b,seed=0):
    n=len(b); i=0
    if n>=32:
        v1=(seed+P1+P2)&M; v2=(seed+P2)&M; v3=seed; v4=(seed-P1)&M
        while i+32<=n:
            a,b2,c,d=struct.unpack_from('<4Q',b,i)
            v1=rnd(v1,a); v2=rnd(v2,b2); v3=rnd(v3,c); v4=rnd(v4,d); i+=32
        h=(rotl(v1,1)+rotl(v2,7)+rotl(v3,12)+rotl(v4,18))&M
        for v in (v1,v2,v3,v4): h=merge(h,v)
    else: h=(seed+P5)&M
    h=(h+n)&M
    while i+8<=n:
        k=rnd(0,struct.unpack_from('<Q',b,i)[0]); h^=k; h=(rotl(h,27)*P1+P4)&M; i+=8
    if i+4<=n:
        h^=(struct.unpack_from('<I',b,i)[0]*P1)&M; h=(rotl(h,23)*P2+P3)&M; i+=4
    while i<n:
        h^=(b[i]*P5)&M; h=(rotl(h,11)*P1)&M; i+=1
    h^=h>>33; h=(h*P2)&M; h^=h>>29; h=(h*P3)&M; h^=h>>32
    return h
for path in sys.argv[1:]:
    b=bytearray(open(path,'rb').read())
    struct.pack_into('<Q',b,40,len(b))
    mo,ml=struct.unpack_from('<QQ',b,16)
    hdr=bytes(b[:48])+bytes(8)+bytes(b[56:64])
    struct.pack_into('<Q',b,48,xxh64(hdr+bytes(b[mo:mo+ml])))
    open(path,'wb').write(b)
