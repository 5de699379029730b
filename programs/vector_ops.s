; Digital-unit vector operations on 1024-element vectors, with a loop of four scaled accumulations.
.equ N 1024
.sym a    sram N uniform -1.0 1.0 1
.sym b    sram N uniform -1.0 1.0 2
.sym c    sram N
.sym d    sram N
.sym s    sram 1
    vadd c, a, b, N            ; c = a + b
    vmul d, a, b, N            ; d = a * b
    vrelu c, c, N              ; c = relu(c)
    li x1, 4
loop:
    vaxpy d, c, d, N, 0.5      ; d = 0.5 c + d, four times
    addi x1, x1, -1
    bne x1, x0, loop
    vsum s, d, N               ; s = sum(d)
    halt
