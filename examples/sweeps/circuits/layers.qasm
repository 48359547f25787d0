OPENQASM 3.0;
include "stdgates.inc";
// 12 qubits, four layers of rotations and entangling gates: a mid-size sweep point
input float a;
input float b;
qubit[12] q;
bit[12] c;
ry(b) q[0]; rx(a) q[1]; ry(b) q[2]; rx(a) q[3]; ry(b) q[4]; rx(a) q[5]; ry(b) q[6]; rx(a) q[7]; ry(b) q[8]; rx(a) q[9]; ry(b) q[10]; rx(a) q[11];
cx q[0], q[1]; cx q[2], q[3]; cx q[4], q[5]; cx q[6], q[7]; cx q[8], q[9]; cx q[10], q[11];
rx(a) q[0]; ry(b) q[1]; rx(a) q[2]; ry(b) q[3]; rx(a) q[4]; ry(b) q[5]; rx(a) q[6]; ry(b) q[7]; rx(a) q[8]; ry(b) q[9]; rx(a) q[10]; ry(b) q[11];
cx q[1], q[2]; cx q[3], q[4]; cx q[5], q[6]; cx q[7], q[8]; cx q[9], q[10];
ry(b) q[0]; rx(a) q[1]; ry(b) q[2]; rx(a) q[3]; ry(b) q[4]; rx(a) q[5]; ry(b) q[6]; rx(a) q[7]; ry(b) q[8]; rx(a) q[9]; ry(b) q[10]; rx(a) q[11];
cx q[0], q[1]; cx q[2], q[3]; cx q[4], q[5]; cx q[6], q[7]; cx q[8], q[9]; cx q[10], q[11];
rx(a) q[0]; ry(b) q[1]; rx(a) q[2]; ry(b) q[3]; rx(a) q[4]; ry(b) q[5]; rx(a) q[6]; ry(b) q[7]; rx(a) q[8]; ry(b) q[9]; rx(a) q[10]; ry(b) q[11];
cx q[1], q[2]; cx q[3], q[4]; cx q[5], q[6]; cx q[7], q[8]; cx q[9], q[10];
c = measure q;
