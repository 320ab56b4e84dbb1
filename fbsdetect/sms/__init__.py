"""Categories of fake-base-station spam SMS (the 14 of the FBS Spam SMS
Dataset: AD advertising, FR fraud, IL illegal services, Other): `model`
(character n-gram TF-IDF + multinomial logistic regression, numpy/scipy),
`train` (the reproducible training script), `keywords` (a plain keyword
baseline for comparison).

Dataset: Zhang et al., "Lies in the Air: Characterizing Fake-base-station
Spam Ecosystem in China", ACM CCS 2020 (doi 10.1145/3372297.3417257),
repository Cypher-Z/FBS_SMS_Dataset; cite it wherever the model is used.
"""
