OLD = {
 'regional_security': ["threats to the stability and security of a region, such as terrorism, militancy or insurgency",
   "a conflict spilling over into neighbouring countries, cross-border infiltration or refugee flows caused by conflict",
   "security alliances such as NATO, arms races, territorial disputes or great-power rivalry over a region"],
 'diplomacy': ["diplomatic talks, negotiations or summits between governments",
   "relations between states: envoys, ambassadors, foreign ministers, treaties, agreements or joint statements",
   "sanctions or official warnings and protests addressed by one state to another"],
 'military': ["armed forces, troop deployments, military exercises or military bases",
   "combat, airstrikes, shelling or fighting between armed groups",
   "weapons systems, arms sales, defence budgets or military casualties"],
}
NEW = {
 'regional_security': [
   "threats to the stability and safety of a region or of the states in it",
   "terrorism, militancy and insurgency",
   "a conflict spilling over into neighbouring countries and cross-border infiltration",
   "border and migrant crises used as pressure, refugee flows caused by conflict",
   "arms races, security alliances such as NATO and their military posture",
   "territorial disputes and great-power rivalry over a region's security",
   "cyber attacks by or on states"],
 'diplomacy': [
   "diplomatic relations between states or with international organisations",
   "talks, negotiations and summits between governments",
   "envoys, ambassadors and visits of foreign ministers or heads of state",
   "treaties and international agreements between countries",
   "diplomatic recognition, joint statements and United Nations votes",
   "expulsion of diplomats",
   "sanctions imposed or threatened as foreign policy",
   "official warnings or protests addressed by one state to another"],
 'military': [
   "armed forces and the use or preparation of military force",
   "troop deployments, military build-ups or troop withdrawals",
   "combat, airstrikes, shelling and fighting",
   "military exercises and military bases",
   "weapons systems, arms sales and arms transfers",
   "defence budgets and military procurement",
   "military casualties: soldiers killed or wounded",
   "a military coup by the armed forces"],
}
NONE = ["domestic politics, elections and political parties", "crime, police and the courts",
        "the economy, business, companies and markets", "health and medicine",
        "culture, entertainment, music and films", "sport", "the environment and wildlife",
        "a human interest story about people's personal lives"]
