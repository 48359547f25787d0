// A single-qubit rotation swept over its angle; P(1) = sin^2(theta/2).
OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[1] q;
bit[1] c;
rx(theta) q[0];
c[0] = measure q[0];
