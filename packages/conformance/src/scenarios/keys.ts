/**
 * Fixed test keys, generated once for this suite (never used anywhere else): every backend of every
 * run imports the same key, so deterministic outputs can be compared byte for byte and the committed
 * table only changes when a backend does.
 */

/** RSA-2048 private key as a JWK (base64url fields). */
export const RSA_JWK = {
  kty: 'RSA',
  n:
    'kvzZXT_C8Twj78vmlmFEyFoOHkT68tse1KXZUhmt9VsgH3m6Ujy0Ju6j1Miy-7G8kxyUV55G760b3Jlrxz2-NrTIVp4c1v3M' +
    'd0A-46_q1pr7hY4XJOEETAdi39QI4Ly-hmh_isaPFwheidwBXWpfX9RAi3eUyhWRlGMRMLCXK6gUtc7G8_GMdUbEqWmNa_Sq' +
    'kbuF6FVTpQUPby1JU9WSTjAivpJMlTUy1dAjpg2lQeL3ZtmbRKiJeDY-cSarmYsF-DEJyBw1P4sXLHDKxk5UkPrduNtPayRy' +
    'FsuE1WXy_GNr8B2lEk7zWnlzb2NAmsuhSrNUrqVfZOr6Nh9faOBSAw',
  e: 'AQAB',
  d:
    'BI8M4n5F67Q7CRp2xZvYipbZDiw0SxK6kXLCJTVqYGm54kAHVX93j4ndZMkDhBhzbIGNLmz1-LpD5Mzfzy7DDQ4Ufr2zvDTQ' +
    'eCnBojHffrhzhJtbk8nag_TWsIWP77JNYEtZuBc5EEhGegswxwgCesqzs1Diw0HETdBWACcNpsOzHlmv6vlf3GbH7UAUl75X' +
    'FBT4w96PDfa5TwtKleY518xoExb3sMmPlWVqulmXf95UAwXtg355e_Ka85cFPnZTFUBNDOiDA-oH-ZlzOf_5_k53mnanCJV7' +
    'QdCR_Q8C-bPbSikKvJBL3Lkey1d484rgCkYnAR8Bv0Pt2Q-SWZ24wQ',
  p:
    'y-qPjOSMQ7LIFkxEtuJWRAbnEqU_ilDs5LYxmHQGSEEES_pcTZwfZnSivk_2KvmD49wNAI2Niu4rVAVbmtxEPx3PatoeO4Ow' +
    'e9fnfcMUqrapezduRzd0Evvr6CvPm4L3TvzCeMeWYrkxQaiuHiwP1DDlM0RS-ernLvtEyyA1d30',
  q:
    'uIfo3xoVaB6WUVCWTmIIHHPEB1ijo_Gh6G05QeRHw9QdhDWRGiF2em7O-pA4G2Mm3H-MmEnc-60uFjTTfGa3-O-oF-Efi4Gh' +
    'xUSzZf_0QiJq1lYWbNKMd8NGhmgzrFSFmobEqTjSoW-_pvHdIQuWYUMwKzHqfPIhdFaJxtKeJ38',
  dp:
    'keMrdmpgq2Jx4foIwyrk-uBRWzacYfGJugtbKi3__Jt_Xngsp13F3UAe2rdMb-x5XoClULr1A-tnVkJLCl0B-oHyTgjkzkFl' +
    '9wQ9Wu1BkO0EDeJXZF4ZDifr2_vUGPc2xezxmQV54wGJaucqQu3VGUMuB2KfVqunYCZmTkip1-U',
  dq:
    'L33zJjBNYB23LDhkZsn-MmxtAEME4rXWqL4rpVS-T50w94zdym7gUkRgisZBWnMbVlaRdcRU1oVMvjRcVcEOCkiL55FuD_aO' +
    'DvpOfarxT3ASNRW08c8CjfQ5G3CIFAsw04Np6--O7jOXjLzk35Ne4atsI0HWis-6Ynm_PeeJArs',
  qi:
    'X6STLWl6rvexE73JY55ecUHoli972J3Wg2mMJetcqsjuY6H1tjEyefxCi_47qHlCE9DjtMN_P200XmbK9yC6UyW2rBBVRRWt' +
    '1KduLiOG7b8WhoLtqIN3gjqx0eu4ADh3nqtAg68udafj_eGCDV3oV7BnBPMfSx8JyCN6uZR10dg',
} as const;

/** Ed25519 private key (RFC 8032 seed) and public key, base64url. */
export const ED25519 = { d: 'Rp21_Aj76RsvLBgIYinpi6psbdD0eeUM107VJriW5q4', x: 'NiDI9MNuC5hfEBk_S6T_yM_ODg3odnNCvgXPD1zNkxE' } as const;
