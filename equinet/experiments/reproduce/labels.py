"""The learning methods of the reproductions and their labels in tables and figures."""

__all__ = ["METHODS", "LABELS"]

#: the learning methods of Table 1 of the EI paper (plus the linear baseline ``pinv`` = A†y)
METHODS = ("pinv", "mc", "ei", "ei_adv", "sup", "ei_sup")
LABELS = {"pinv": "A†y", "mc": "MC", "ei": "EI", "ei_adv": "EI-adv", "sup": "Sup", "ei_sup": "EI-sup",
          "rei": "REI", "moi": "MOI", "moi_ei": "MOI+EI", "sup_da": "Sup+DA"}
#: design-plus-learning's methods are ``<method>_<prox>``: e.g. ``ei_c8`` = "EI C8"
LABELS.update({f"{m}_{x}": f"{LABELS[m]} {x.upper()}" for m in ("sup", "ei", "mc", "sup_da") for x in ("cnn", "c8")})
