; One full-tile MVM on tile 0: program a 64 x 32 weight block, drive one 8-bit input vector.
; Expected on wu2023: the mvm takes 8 column groups x 9 cycles = 72 cycles and 2.66 nJ in tile0.
.layer 1 demo
.sym w      sram 64*32 uniform -1.0 1.0 1      ; weights (row-major, 64 rows x 32 columns)
.sym ones   sram 64*32 = 1.0                   ; placeholder, overwritten below
.sym x      dram 64 uniform -100 100 2          ; input activations
.sym xin    tb0  64                            ; tile 0 input buffer
.sym yout   tb0  32                            ; tile 0 output buffer
.sym y      sram 32                            ; result
    vfill ones, 64*32, 1.0                     ; mask: program every weight
    tcfg 0, 0, 0, 64, 32, 8                    ; whole array, 8-bit inputs
    wv 0, w, ones
    copy xin, x, 64                            ; DRAM -> tile buffer
    quant xin, xin, 64, 1.0, 8                 ; to signed 8-bit DAC codes
    mark 1, forward
    mvm 0, yout, xin, 1
    copy y, yout, 32
    halt
