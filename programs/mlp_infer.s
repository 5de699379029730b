; Two-layer MLP inference over a batch of 16 on two tiles:
;   h = relu(dequant(mvm(quant(x))) + b1)   64 -> 32 on tile 0 (a full 64 x 32 weight array)
;   y = dequant(mvm(quant(h))) + b2          32 -> 10 on tile 1
;   pred = argmax(y)
; Inputs are quantized to signed 8-bit DAC codes with fixed scales; outputs are rescaled digitally.
.equ B 16
.layer 1 fc1
.layer 2 fc2
.sym x      dram B*64  uniform 0.0 1.0 11      ; input batch, values in [0, 1]
.sym w1     dram 64*32 uniform -0.25 0.25 12    ; layer 1 weights (64 rows x 32 columns)
.sym b1     dram 32    uniform -0.1 0.1 13
.sym w2     dram 32*10 uniform -0.3 0.3 14      ; layer 2 weights (32 x 10)
.sym b2     dram 10    uniform -0.1 0.1 15
.sym w1s    sram 64*32                         ; staging for programming
.sym w2s    sram 32*10
.sym mask   sram 64*32
.sym b1s    sram 32
.sym b2s    sram 10
.sym h      sram B*32                          ; hidden activations
.sym y      sram B*10                          ; logits
.sym pred   sram B                             ; predicted class per input
.sym xin    tb0 B*64                           ; tile 0 buffer: input codes, output sums
.sym hout   tb0 B*32
.sym hin    tb1 B*32                           ; tile 1 buffer
.sym yout   tb1 B*10

; ---- program the weights (write-verify every cell) ----
    mark 0, other
    vfill mask, 64*32, 1.0
    copy w1s, w1, 64*32
    copy w2s, w2, 32*10
    copy b1s, b1, 32
    copy b2s, b2, 10
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, w1s, mask
    tcfg 1, 0, 0, 32, 10, 8
    wv 1, w2s, mask
; ---- layer 1 ----
    mark 1, forward
    copy xin, x, B*64
    quant xin, xin, B*64, 0.007874016, 8        ; scale 1/127: [0, 1] -> codes 0..127
    mvm 0, hout, xin, B
    copy h, hout, B*32
    vscl h, h, B*32, 0.007874016               ; back to activation units
    vaddr h, h, b1s, B, 32
    vrelu h, h, B*32
; ---- layer 2 ----
    mark 2, forward
    copy hin, h, B*32
    quant hin, hin, B*32, 0.015748031, 8        ; scale 2/127: [0, 2] -> codes 0..127
    mvm 1, yout, hin, B
    copy y, yout, B*10
    vscl y, y, B*10, 0.015748031
    vaddr y, y, b2s, B, 10
    argmax pred, y, B, 10
    halt
