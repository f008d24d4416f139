// The words reports use for each finding. Phrases are written in lower case, one space between
// words; hyphens and slashes count as spaces ("air-space" = "air space") and plurals match their
// singular. When phrases overlap the longest wins, which is how the exclusions work:
// "pericardial effusion" is not a pleural effusion, "bone density" is not a lung opacity.
import type { MentionCode } from './finding-codes.ts';

export interface LexiconEntry {
  readonly codes: readonly MentionCode[];
  /** What was found, in plain words (the code's own name for the finding codes). */
  readonly term: string;
  readonly phrases: readonly string[];
}

const finding = (codes: MentionCode | MentionCode[], term: string, phrases: string[]): LexiconEntry => ({
  codes: Array.isArray(codes) ? codes : [codes],
  term,
  phrases,
});
const other = (term: string, phrases: string[]): LexiconEntry => finding('other', term, phrases);

export const LEXICON: readonly LexiconEntry[] = [
  finding('nodule', 'nodule', ['nodule', 'micronodule', 'nodularity', 'pulmonary nodule', 'lung nodule', 'coin lesion', 'nodular lesion']),
  // A nodular opacity is described, not yet called a nodule (Open-i's coders write it as Opacity/round).
  finding(['opacity'], 'nodular opacity', ['nodular opacity', 'nodular opacification', 'nodular density', 'nodular focus']),
  finding('mass', 'mass', ['mass', 'masses', 'mass lesion', 'masslike', 'mass like', 'tumor', 'tumour', 'neoplasm']),
  finding(['mass', 'opacity'], 'masslike opacity', ['masslike opacity', 'mass like opacity']),
  finding('pleural_effusion', 'pleural effusion', [
    'pleural effusion', 'effusion', 'pleural fluid', 'hydrothorax', 'hemothorax', 'haemothorax', 'fissural fluid', 'loculated fluid',
    'layering fluid', 'subpulmonic fluid', 'fluid in the fissure', 'fluid in the minor fissure', 'fluid in the major fissure', 'fluid in the pleural space',
    'pleural fluid collection', 'fissural effusion', 'subpulmonic effusion', 'empyema',
  ]),
  finding(['pleural_effusion', 'pneumothorax'], 'hydropneumothorax', ['hydropneumothorax', 'hydro pneumothorax', 'hemopneumothorax']),
  finding('pneumothorax', 'pneumothorax', ['pneumothorax', 'pneumothoraces', 'ptx', 'pleural air']),
  finding('cardiomegaly', 'cardiomegaly', ['cardiomegaly', 'cardiac enlargement', 'cardiomyopathy', 'enlarged heart', 'cardiac hypertrophy']),
  finding('atelectasis', 'atelectasis', ['atelectasis', 'atelectases', 'atelectatic', 'atelectatic change', 'collapse', 'collapsed', 'lobar collapse']),
  finding('consolidation', 'consolidation', [
    'consolidation', 'consolidative', 'consolidated', 'airspace disease', 'air space disease', 'airspace process', 'air space process',
    'alveolar process', 'airspace filling', 'infiltrate', 'infiltration', 'infiltrative', 'pneumonia', 'bronchopneumonia', 'pneumonitis',
  ]),
  // An airspace opacity is a description, not yet a consolidation (as in CheXpert's labels).
  finding('opacity', 'airspace opacity', [
    'airspace opacity', 'air space opacity', 'alveolar opacity', 'airspace opacification', 'airspace density',
  ]),
  finding(['consolidation', 'opacity'], 'consolidative opacity', ['consolidative opacity']),
  finding('opacity', 'opacity', ['opacity', 'opacification', 'opacified', 'density', 'haziness', 'hazy', 'hazy opacity', 'ground glass', 'ground glass opacity']),
  finding('edema', 'edema', [
    'edema', 'oedema', 'pulmonary edema', 'pulmonary oedema', 'interstitial edema', 'interstitial oedema', 'alveolar edema', 'alveolar oedema', 'congestion', 'vascular congestion', 'venous congestion', 'pulmonary congestion',
    'congestive failure', 'congestive heart failure', 'heart failure', 'cardiac failure', 'failure', 'chf', 'fluid overload', 'volume overload',
    'cephalization', 'kerley lines', 'kerley b lines', 'interstitial fluid', 'vascular redistribution', 'vascular engorgement', 'venous engorgement',
  ]),

  // Not findings of ours, and worded like them: named so they are not taken for ours.
  other('pericardial or joint effusion', ['pericardial effusion', 'pericardial fluid', 'joint effusion', 'knee effusion', 'elbow effusion', 'shoulder effusion', 'hip effusion']),
  other('bone density', ['double density', 'bone density', 'bone mineral density', 'breast density', 'breast tissue density', 'soft tissue density']),
  other('soft tissue oedema', ['soft tissue edema', 'subcutaneous edema']),
  other('failure (non-cardiac)', ['respiratory failure', 'renal failure', 'kidney failure', 'liver failure', 'failure to thrive']),
  other('mass effect', ['mass effect', 'body mass', 'body mass index', 'muscle mass']),
  other('vertebral collapse', ['vertebral collapse', 'vertebral body collapse', 'compression fracture', 'compression deformity']),

  // Other abnormalities: not reported per code, but a study that has one is not normal.
  other('granuloma', ['granuloma', 'granulomatous', 'granulomatous disease', 'calcified granuloma', 'calcified node', 'calcified lymph node']),
  other('calcification', ['calcification', 'calcified', 'calcinosis', 'calcific']),
  other('scarring', ['scar', 'scarring', 'cicatrix', 'fibrosis', 'fibrotic', 'fibrotic change', 'parenchymal band']),
  other('emphysema', ['emphysema', 'emphysematous', 'copd', 'chronic obstructive pulmonary disease', 'bulla', 'bullae', 'bleb', 'bullous']),
  other('hyperinflation', ['hyperinflation', 'hyperinflated', 'hyperexpanded', 'hyperexpansion', 'hyperaeration', 'hyperlucent', 'hyperlucency', 'flattened', 'flattening']),
  other('low lung volumes', ['low lung volume', 'low volume', 'hypoinflation', 'hypoventilation', 'poor inspiration', 'shallow inspiration', 'low inspiratory volume', 'lung volume are low', 'lung volume are diminished', 'lung volume are reduced', 'reduced lung volume',
    'decreased lung volume', 'diminished lung volume', 'hypoinflated', 'underinflated', 'underinflation', 'hypoexpanded', 'hypoexpansion']),
  other('pleural thickening', ['pleural thickening', 'thickening', 'thickened', 'pleural plaque', 'plaque']),
  other('blunting', ['blunting', 'blunted', 'blunt']),
  other('diaphragm', ['elevated hemidiaphragm', 'elevation', 'elevated', 'eventration', 'hernia', 'hiatal hernia', 'hiatus hernia']),
  other('aorta', ['tortuous', 'tortuosity', 'ectatic', 'ectasia', 'unfolded', 'unfolding', 'aneurysm', 'aneurysmal', 'dilated', 'dilatation', 'dilation']),
  other('atherosclerosis', ['atherosclerosis', 'atherosclerotic', 'atheromatous']),
  other('degenerative change', ['degenerative', 'degeneration', 'spondylosis', 'spondylitic', 'osteophyte', 'osteophytosis', 'arthritis', 'arthropathy', 'arthritic', 'enthesophyte', 'ddd', 'spurring', 'spur', 'endplate change', 'endplate sclerosis', 'disc space narrowing', 'facet arthropathy']),
  other('spine curvature', ['scoliosis', 'scoliotic', 'kyphosis', 'kyphotic', 'lordosis', 'curvature', 'levocurvature', 'dextrocurvature', 'levoscoliosis', 'dextroscoliosis']),
  other('bone', ['fracture', 'fractured', 'deformity', 'osteopenia', 'osteopenic', 'osteoporosis', 'demineralization', 'demineralized', 'lytic', 'sclerotic', 'sclerosis', 'erosion', 'wedging']),
  other('malignancy', ['malignancy', 'metastasis', 'metastatic', 'metastatic disease', 'lymphangitic', 'carcinoma', 'cancer']),
  other('device', [
    'catheter', 'picc', 'line', 'port', 'portacath', 'pacemaker', 'pacer', 'defibrillator', 'icd', 'aicd', 'lead', 'tube', 'stent', 'prosthesis',
    'prosthetic', 'device', 'hardware', 'clip', 'wire', 'sternotomy', 'cabg', 'valve replacement', 'drain', 'shunt', 'electrode', 'generator', 'suture',
    'staple', 'plate', 'screw', 'rod', 'fusion', 'arthroplasty', 'foreign body', 'pellet', 'shrapnel', 'surgical', 'postsurgical', 'postoperative', 'status post',
  ]),
  other('surgery', ['lobectomy', 'pneumonectomy', 'mastectomy', 'thoracotomy', 'resection', 'wedge resection']),
  other('interstitial change', ['interstitial', 'interstitial marking', 'lung marking', 'vascular marking', 'bronchovascular marking', 'reticular', 'reticulonodular', 'marking', 'bronchiectasis', 'bronchial wall thickening', 'peribronchial', 'crowding']),
  other('lucency', ['lucency', 'lucent', 'cavity', 'cavitary', 'cavitation', 'cyst', 'cystic', 'air fluid level']),
  other('hilar or mediastinal', ['adenopathy', 'lymphadenopathy', 'hilar enlargement', 'widened', 'widening', 'prominence', 'prominent', 'enlarged', 'enlargement', 'shift', 'deviation']),
  other('obscured', ['obscured', 'obscuring', 'obscuration', 'silhouetting']),
  other('lesion', ['chronic', 'lung disease', 'chronic lung disease', 'interstitial lung disease', 'lesion', 'abnormality', 'chronic change', 'postinflammatory', 'post inflammatory', 'sequela', 'sequelae', 'old granulomatous disease']),
  other('technical limitation', [
    'limited', 'suboptimal', 'artifact', 'underpenetrated', 'under penetrated', 'overpenetrated', 'rotated', 'rotation', 'lordotic', 'motion',
    'patient motion', 'body habitus', 'habitus', 'nondiagnostic', 'non diagnostic',
  ]),
  other('airway', ['bronchitis', 'reactive airway disease', 'airway disease', 'air trapping', 'bronchiolitis', 'asthma']),
  other('vascular', ['pulmonary hypertension', 'pulmonary arterial hypertension', 'pulmonary artery enlargement', 'hilar fullness', 'fullness', 'venous hypertension']),
  other('extrapulmonary air', ['pneumoperitoneum', 'free air', 'free intraperitoneal air', 'pneumomediastinum', 'pneumopericardium', 'subcutaneous air', 'subcutaneous emphysema']),
  other('chest wall', ['pectus', 'pectus excavatum', 'pectus carinatum', 'gynecomastia', 'cervical rib', 'bifid rib', 'dislocation', 'callus', 'bone island', 'hyperostosis', 'dish', 'schmorl node', 'osteoarthritis', 'kyphoplasty', 'vertebroplasty', 'cement']),
  other('congenital or positional', ['dextrocardia', 'right aortic arch', 'right sided aortic arch', 'situs inversus', 'increased ap diameter', 'barrel chest']),
  other('parenchymal pattern', ['honeycombing', 'reticulation', 'bandlike', 'band like', 'discoid', 'linear', 'streaky', 'air bronchogram', 'volume loss', 'effacement', 'aspiration']),
  other('prior infection', ['granulomata', 'histoplasmosis', 'tuberculosis', 'old tb', 'asbestos', 'asbestosis', 'sarcoidosis', 'silicosis']),
  other('monitoring device', ['monitor', 'monitoring lead', 'filter', 'lvad', 'annuloplasty', 'swan ganz', 'endotracheal', 'nasogastric', 'enteric', 'tracheostomy', 'gastrostomy']),
  other('nipple shadow', ['nipple shadow', 'nipple shadows', 'nipple marker']),
  other('azygos lobe', ['azygos lobe', 'azygous lobe', 'azygos fissure']),
];
