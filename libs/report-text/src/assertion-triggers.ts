// Negation and hedging cues, after NegEx (Chapman et al., 2001) and the radiology extensions
// of NegBio and the CheXpert labeller, rewritten for chest radiograph reports.
// A cue either precedes the finding ("no", "possible") or follows it ("is not seen", "cannot be
// excluded"); its scope runs to the end of the clause: a terminator ("but", "however", ";") or
// the sentence end. Pseudo-cues ("no change", "not only") contain a cue word and are not one:
// they are matched first so the word inside them does nothing.
// Phrases follow the lexicon's rules (lower case, hyphens and slashes as spaces); "cannot"
// and "can't" are tokenised as "can not".

export type CueKind = 'preNegation' | 'postNegation' | 'preUncertain' | 'postUncertain' | 'pseudo' | 'terminator' | 'between';

export const CUES: Readonly<Record<CueKind, readonly string[]>> = {
  preNegation: [
    'no', 'not', 'without', 'negative for', 'free of', 'clear of', 'absence of', 'absent', 'no evidence of', 'no evidence for', 'no sign of',
    'no signs of', 'no radiographic evidence of', 'no radiographic signs of', 'no finding of', 'no findings of', 'no findings to suggest',
    'no definite', 'no definitive', 'no convincing', 'no obvious', 'no visible', 'no significant', 'no suspicious', 'no new', 'no residual',
    'no longer', 'no recurrent', 'no discrete', 'no focal', 'nor', 'neither', 'never', 'resolution of', 'resolved', 'interval resolution of',
    'clearing of', 'cleared', 'removal of', 'rather than', 'ruled out', 'negative', 'none', 'not seen', 'not identified', 'lack of',
    'not suggestive of', 'not consistent with', 'no appreciable', 'no detectable', 'no demonstrable', 'no acute', 'no gross', 'no overt', 'no frank',
  ],
  postNegation: [
    'not seen', 'not identified', 'not present', 'not visualized', 'not visualised', 'not appreciated', 'not demonstrated', 'not evident',
    'not detected', 'not noted', 'not observed', 'not apparent', 'not visible', 'absent', 'resolved', 'has resolved', 'have resolved', 'has cleared',
    'have cleared', 'cleared', 'no longer seen', 'no longer visible', 'no longer present', 'no longer identified', 'is gone', 'are gone',
    'ruled out', 'excluded', 'is unlikely', 'are unlikely', 'unlikely', 'not been seen', 'has been removed', 'have been removed', 'removed',
    'not suspected', 'free', 'is not', 'are not', 'no longer', 'no longer visualized', 'no longer visualised', 'no longer evident',
    'no longer appreciated', 'no longer demonstrated', ': none', ': absent', ': no', ': negative', ': not seen', ': nil', '- none', 'none seen',
  ],
  preUncertain: [
    'possible', 'possibly', 'probable', 'probably', 'likely', 'most likely', 'may', 'might', 'could', 'suspect', 'suspected',
    'suspicious for', 'suspicious of', 'suspicion of', 'suspicion for', 'suggestive of', 'suggesting', 'suggests', 'suggest', 'may represent',
    'may reflect', 'may be', 'could be', 'could represent', 'question of', 'questionable', 'question', 'query', '?', 'cannot exclude',
    'can not exclude', 'cannot rule out', 'can not rule out', 'not excluded', 'difficult to exclude', 'not entirely excluded', 'cannot be excluded',
    'differential includes', 'differential diagnosis includes', 'differential considerations include', 'concerning for', 'concern for', 'worrisome for',
    'worrisome of', 'equivocal', 'indeterminate', 'presumed', 'presumably', 'perhaps', 'uncertain', 'r o', 'rule out', 'to rule out',
    'to exclude', 'evaluate for', 'borderline', 'maybe', 'raising the possibility of', 'cannot be entirely excluded', 'favor', 'favored', 'favour',
    'atypical for', 'not definitely', 'less likely', 'could be due to', 'may be due to', 'might be due to', 'possibly due to', 'likely due to',
    'probably due to', 'may be related to', 'could be related to', 'possibly related to', 'likely related to', 'may be secondary to', 'likely secondary to', 'is likely', 'are likely', 'is probably', 'are probably', 'is possibly', 'are possibly', 'represent', 'represents', 'representing', 'reflect', 'reflecting', 'reflects', 'apparent', 'vague',
  ],
  postUncertain: [
    'cannot be excluded', 'can not be excluded', 'cannot be ruled out', 'can not be ruled out', 'not excluded', 'is not excluded', 'are not excluded',
    'not entirely excluded', 'not completely excluded', 'cannot be entirely excluded', 'difficult to exclude', 'is possible', 'are possible',
    'is suspected', 'are suspected', 'is questioned', 'is not ruled out', 'may be present', 'could be present', 'is likely', 'are likely', 'is probable',
    'is considered', 'are considered', 'not entirely ruled out', 'is a consideration', 'would be a consideration',
    'not definitely seen', 'not well seen', 'not well visualized', '?', 'is favored', 'is suggested', 'suggested', 'questioned', 'suspected',
    'could also be', 'can not be completely excluded', 'cannot be completely excluded', 'less likely', 'is less likely', 'felt less likely',
    ': possible', ': ?', ': equivocal',
  ],
  pseudo: [
    'no change', 'no interval change', 'no significant change', 'no significant interval change', 'no appreciable change', 'no substantial change',
    'not changed', 'without change', 'without interval change', 'without significant change', 'no increase', 'no decrease', 'not significantly changed',
    'not only', 'gram negative', 'not necessarily', 'not otherwise', 'not well', 'no definite change', 'not extend',
    'no worse', 'no larger', 'no smaller', 'no interval increase', 'no interval decrease',
    'can be seen', 'could be seen', 'may be seen', 'can be', 'not include', 'not including',
  ],
  terminator: [
    'but', 'however', 'although', 'though', 'yet', 'except', 'except for', 'aside from', 'apart from', 'other than', 'otherwise', 'which', 'whereas',
    'while', 'there is', 'there are', 'there has been', 'there have been', 'again seen', 'again noted', 'is seen', 'are seen', 'is noted', 'are noted',
    'is present', 'are present', 'is identified', 'are identified', 'persists', 'persist', 'remains', 'remain', 'consistent with', 'compatible with',
    'due to', 'secondary to', 'related to', 'from', 'cause of', 'source of', 'etiology of', 'origin of', 'stable', 'unchanged', 'improved', 'worsened', 'has developed', 'with',
    ';', ':', '(', ')', '.',
  ],
  // Between two findings, hedges both: "atelectasis versus pneumonia", "scar or atelectasis".
  between: ['versus', 'vs', 'and or', 'or'],
};
