import TapeGrad
