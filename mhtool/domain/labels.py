"""Every user-facing label, in zh-CN (default) and en.

Codes (``red``, ``leave``, ``interview`` …) are the identifiers of the design's
glossary and are what the store, the JSON output and the command line use.
Labels are only for people: tables, workbooks and messages.
"""

from __future__ import annotations

from mhtool.domain.rules import GUARDIAN_NOTICE_HOURS, REFERRAL_ATTEND_DAYS

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    # A yes or a no in a table cell (a referral's 绿色通道, whether a signal rule is on).
    "answer": {
        "yes": ("是", "yes"),
        "no": ("否", "no"),
    },
    "level": {
        "red": ("一级(红色)", "Level 1 (red)"),
        "orange": ("二级(橙色)", "Level 2 (orange)"),
        "yellow": ("三级(黄色)", "Level 3 (yellow)"),
        "none": ("无", "none"),
    },
    "status": {
        "enrolled": ("在读", "enrolled"),
        "leave": ("休学", "on leave"),
        "returned": ("复学", "returned"),
        "withdrawn": ("退学", "withdrawn"),
        "graduated": ("毕业", "graduated"),
    },
    "group": {
        "hardship": ("家庭经济困难", "financial hardship"),
        "single_parent_orphan": ("单亲或孤儿", "single parent or orphan"),
        "academic": ("学业问题", "academic difficulty"),
        "psychological": ("心理问题", "psychological problems"),
        "disability": ("身体残疾", "physical disability"),
        "readmitted": ("退学重新参加高考入学", "readmitted after withdrawal"),
    },
    "entry": {
        "screening": ("筛查", "screening"),
        "interview": ("约谈", "interview"),
        "level_change": ("等级变更", "level change"),
        "note": ("记录", "note"),
        "measure": ("帮扶举措", "help measure"),
        "guardian_contact": ("家校沟通", "guardian contact"),
        "crisis": ("危机事件", "crisis"),
        "status_change": ("学籍变动", "status change"),
        "follow_up": ("回访", "follow-up"),
        "close": ("结案", "watch closed"),
        "reopen": ("重新关注", "watch reopened"),
        "referral": ("转介", "referral"),
        "correction": ("更正", "correction"),
        "signal": ("多源预警", "signal"),
        "signal_review": ("预警研判", "signal review"),
        "session": ("个体咨询", "counseling session"),
        "conference": ("案例研讨", "case conference"),
    },
    "task": {
        "interview": ("约谈", "interview"),
        "follow_up": ("回访", "follow-up"),
        "review": ("复学评估", "return review"),
        "reminder": ("提醒", "reminder"),
        "referral_visit": ("转介就诊确认", "referral: confirm the visit"),
        "referral_review": ("转介复查", "referral review"),
        "referral_guardian": ("转介告知监护人", "referral: inform the guardian"),
        "signal_review": ("研判", "signal review"),
        "appointment": ("咨询预约", "appointment"),
        "conference_follow_up": ("研讨跟进", "conference follow-up"),
    },
    # 多源预警: the rules (codes of mhtool/signals/domain/rules.toml), the systems a signal comes from,
    # a signal's state and what a counselor's review (研判) decided.
    "signal_rule": {
        "dorm_out": ("未归寝", "nights out"),
        "meals_drop": ("就餐骤减", "fewer meals"),
        "hidden_hardship": ("隐性困难", "hidden hardship"),
        "first_fail": ("首次挂科", "first failed course"),
        "academic_warning": ("学业预警", "academic warning"),
        "credits_short": ("毕业欠学分", "credits short"),
        # 五级网络: a 心理委员 or 寝室长 named the student in a report (not a rule of rules.toml).
        "peer_report": ("同伴报告", "peer report"),
    },
    "signal_source": {
        "dorm": ("门禁", "dorm access"),
        "card": ("一卡通", "campus card"),
        "academic": ("教务", "academic records"),
        "peer": ("心理委员/寝室长", "class network"),
    },
    # 五级网络: who reports for which unit, the kinds of unit, and what a unit's report for a period said.
    "network_role": {
        "peer_monitor": ("心理委员", "peer monitor"),
        "dorm_head": ("寝室长", "dorm head"),
        "advisor": ("辅导员", "advisor"),
        "station_head": ("二级站负责人", "college station head"),
    },
    "network_unit": {
        "class": ("班级", "class"),
        "dorm": ("宿舍", "dorm"),
        "college": ("学院", "college"),
    },
    "network_status": {
        "zero": ("零报告", "zero report"),
        "concern": ("有情况", "concern"),
    },
    "signal_status": {
        "open": ("待研判", "pending review"),
        "reviewed": ("已研判", "reviewed"),
    },
    "signal_outcome": {
        "watch": ("关注", "watch"),
        "noted": ("已知晓", "noted"),
        "dismissed": ("排除", "dismissed"),
    },
    # Headers of the terminal tables of `mhtool signals …`.
    "signal_column": {
        "sources": ("来源数", "sources"),
        "rules": ("预警", "signals"),
        "last_hit_on": ("最近触发", "last hit"),
        "explanation": ("说明", "explanation"),
        "signal_ids": ("预警编号", "signal ids"),
        "field": ("字段", "field"),
        "column": ("列", "column"),
        "header": ("表头", "header"),
        "read": ("读取", "read"),
        "rule": ("规则", "rule"),
        "code": ("代码", "code"),
        "source": ("数据来源", "source"),
        "enabled": ("启用", "enabled"),
        "parameters": ("参数", "parameters"),
        "review_days": ("研判期限（天）", "review within (days)"),
        "on": ("日期", "date"),
        "due": ("研判截止", "review due"),
    },
    # Whether `signals import --dry-run` reads a recognised column's values (names and devices are recognised, never read).
    "column_read": {
        "yes": ("读取", "read"),
        "no": ("不读取（仅识别）", "not read (recognised only)"),
    },
    "role": {
        "admin": ("管理员", "admin"),
        "counselor": ("咨询师", "counselor"),
        "clerk": ("文员", "clerk"),
        "auditor": ("审计员", "auditor"),
    },
    # 危机事件类型 and 风险等级 of a crisis record (codes in mhtool.domain.vocabulary).
    "crisis_type": {
        "self_harm_ideation": ("自伤/自杀意念", "self-harm or suicidal ideation"),
        "self_harm": ("自伤行为", "self-harm"),
        "suicide_attempt": ("自杀未遂", "suicide attempt"),
        "acute_distress": ("急性情绪危机", "acute emotional crisis"),
        "violence": ("暴力伤人或冲突", "violence"),
        "psychotic": ("精神病性症状发作", "psychotic episode"),
        "other": ("其他", "other"),
    },
    "crisis_risk": {
        "high": ("高风险", "high risk"),
        "medium": ("中风险", "medium risk"),
        "low": ("低风险", "low risk"),
    },
    # Labels and section titles of the crisis form (危机事件随时报告) that are not dossier fields.
    "crisis_field": {
        "report": ("报告信息", "Report"),
        "unit": ("报告单位", "Reporting unit"),
        "event_date": ("事件日期", "Event date"),
        "event_type": ("事件类型", "Type of event"),
        "risk": ("风险等级", "Risk level"),
        "upward": ("向上级报告", "Reported upward"),
        "reported_to": ("报告对象", "Reported to"),
        "reported_at": ("报告时间", "Reported at"),
        "reported_how": ("报告方式", "Reported how"),
    },
    "consent": {
        "signed": ("已签署", "signed"),
        "refused": ("拒绝签署", "refused"),
        "not_needed": ("无需签署", "not needed"),
        "pending": ("待签署", "pending"),
    },
    "referral_status": {
        "referred": ("已转介", "referred"),
        "attended": ("已就诊", "attended"),
        "assessed": ("已评估", "assessed"),
        "treatment_outpatient": ("门诊治疗", "outpatient treatment"),
        "hospitalized": ("住院治疗", "hospitalized"),
        "closed": ("已结束", "closed"),
        "declined": ("拒绝转介", "declined"),
        "cancelled": ("已取消", "cancelled"),
    },
    "urgency": {
        "emergency": ("紧急", "emergency"),
        "urgent": ("加急", "urgent"),
        "routine": ("常规", "routine"),
    },
    "advice": {
        "continue_study": ("继续学习", "continue study"),
        "outpatient": ("门诊治疗", "outpatient"),
        "leave": ("建议休学", "leave of absence"),
        "hospitalize": ("住院治疗", "hospitalize"),
        "other": ("其他", "other"),
    },
    "referral_alert": {
        "not_attended": (f"转介{REFERRAL_ATTEND_DAYS}天后仍未就诊", f"not attended {REFERRAL_ATTEND_DAYS} days after referral"),
        "review_due": ("已过复查日期", "past the next review date"),
        "guardian_not_informed": (f"{GUARDIAN_NOTICE_HOURS}小时内未告知监护人", f"guardian not informed within {GUARDIAN_NOTICE_HOURS} hours"),
    },
    "hospital_level": {
        "3A": ("三甲", "grade 3A"),
        "3B": ("三乙", "grade 3B"),
        "3C": ("三丙", "grade 3C"),
        "2A": ("二甲", "grade 2A"),
        "2B": ("二乙", "grade 2B"),
        "2C": ("二丙", "grade 2C"),
        "1A": ("一甲", "grade 1A"),
        "1B": ("一乙", "grade 1B"),
        "1C": ("一丙", "grade 1C"),
        "ungraded": ("未定级", "ungraded"),
    },
    "referral_field": {
        "id": ("转介编号", "Referral id"),
        "hospital": ("转介医院", "Hospital"),
        "department": ("科室", "Department"),
        "hospital_level": ("医院等级", "Hospital grade"),
        "hospital_phone": ("医院电话", "Hospital phone"),
        "hospital_address": ("医院地址", "Hospital address"),
        "green_channel": ("绿色通道", "Green channel"),
        "referred_on": ("转介日期", "Referred on"),
        "referred_at": ("转介时间", "Referred at"),
        "reason": ("转介原因", "Reason"),
        "urgency": ("紧急程度", "Urgency"),
        "escort": ("陪同人员", "Escort"),
        "guardian_informed": ("监护人告知", "Guardian informed"),
        "guardian_informed_at": ("告知时间", "Informed at"),
        "guardian_informed_how": ("告知方式", "Informed how"),
        "guardian_informed_by": ("告知人", "Informed by"),
        "consent": ("知情同意书", "Consent form"),
        "visit_date": ("就诊日期", "Visit date"),
        "diagnosis": ("评估/诊断（医院告知）", "Assessment/diagnosis (as told by the hospital)"),
        "icd10": ("ICD-10编码", "ICD-10 code"),
        "advice": ("医生建议", "Advice"),
        "advice_detail": ("建议说明", "Advice detail"),
        "medication": ("是否服药", "Medication"),
        "next_review": ("下次复查日期", "Next review"),
        "outcome": ("结束情况", "Outcome"),
        "status": ("转介状态", "Status"),
        "note": ("备注", "Note"),
        "alerts": ("提醒", "Alerts"),
        "created_by": ("转介人", "Referred by"),
    },
    # Words of referral step summaries and of the referral record sheet (转介记录表).
    "referral_text": {
        "updated": ("更新", "updated"),
        "cleared": ("（清除）", "(cleared)"),
        "separator": ("；", "; "),
        "colon": ("：", ": "),
        "comma": ("，", ", "),
        "recorded_by": ("（记录人：{by}）", " (by {by})"),
        "file_stem": ("转介记录表", "referral"),
        "sheet_note": (
            "本表记录转介全过程，评估/诊断为医院告知内容，仅供中心存档，不得外传。",
            "This sheet records every step of the referral; the assessment is as told by the hospital. For the center's files only.",
        ),
    },
    # Headings and words of the dossier views (cases show / list / tasks / check / export).
    "dossier": {
        "title": ("学生心理档案", "Student dossier"),
        "profile": ("基本情况", "Profile"),
        "timeline": ("时间线", "Timeline"),
        "basic": ("基本信息", "Basic information"),
        "watch": ("关注情况", "Watch"),
        "open_tasks": ("待办任务", "Open tasks"),
        "next_due": ("下次截止", "Next due"),
        "overdue": ("逾期", "Overdue"),
        "missing": ("缺项", "Missing"),
        "missing_title": ("三个明确缺项", "Three clarities missing"),
        "note": ("说明", "Note"),
        "entry_id": ("记录编号", "Entry"),
        "corrects": ("更正记录", "Corrects"),
        "corrected_by": ("被更正", "Corrected by"),
        "correction_of": ("更正", "corrects"),
        "restricted": ("（内容仅咨询师可见）", "(content visible to counselors only)"),
        "none": ("（无）", "(none)"),
        "active": ("进行中", "active"),
        "ended": ("已结束", "ended"),
        "days": ("天", "d"),
        "file": ("档案", "dossier"),
        "erased": ("档案已删除", "Dossier erased"),
        "unchanged": ("不变", "unchanged"),
        "signals": ("多源预警", "Signals"),
        "signal_id": ("预警编号", "Signal"),
    },
    # Why a dossier was erased, as `cases show` says it for an erased student.
    "erase_basis": {
        "request": ("应申请删除", "erased on request"),
        "retention": ("保存期满删除", "erased at the end of the retention period"),
    },
    # Phrases of a timeline entry's one-line summary (cases show, dossier export); {} is the recorded value.
    "entry_text": {
        "proposed": ("建议等级 {}", "proposed {}"),
        "critical": ("关键条目 {}", "critical items {}"),
        "minutes": ("{}分钟", "{} min"),
        "risk": ("风险评估 {}", "risk {}"),
        "confirmed": ("确认等级 {}", "confirmed {}"),
        "next_step": ("下一步 {}", "next {}"),
        "interviewer": ("约谈人 {}", "by {}"),
        "responsible": ("负责人 {}", "by {}"),
        "consent": ("知情同意书 {}", "consent {}"),
        "where": ("地点 {}", "at {}"),
        "actions": ("处置 {}", "actions {}"),
        "parents_notified": ("家长知悉 {}", "parents told {}"),
        "notified": ("已通知 {}", "notified {}"),
        "event_type": ("事件类型 {}", "type {}"),
        "crisis_risk": ("风险等级 {}", "{}"),
        "reported_up": ("已报告 {}", "reported to {}"),
        "since": ("自{}起", "from {}"),
        "until": ("至{}", "until {}"),
        "certificate": ("诊断证明 {}", "certificate {}"),
        "without_certificate": ("无诊断证明", "no certificate"),
        "assessed_by": ("评估人 {}", "assessed by {}"),
        "documents": ("材料 {}", "documents {}"),
        "signal_hits": ("共触发{}次", "{} hits"),
        "signal_last": ("最近一次 {}", "last {}"),
        "signal_reason": ("研判理由 {}", "reason {}"),
        "session_counselor": ("咨询师 {}", "counselor {}"),
        "session_closed": ("结束本轮咨询 {}", "series closed: {}"),
        "participants": ("参加人员 {}", "participants {}"),
        "decision": ("结论 {}", "decision {}"),
        "conference_owner": ("跟进人 {}", "follow-up by {}"),
    },
    # What the three clarities (三个明确) find missing; ``basic`` takes the field's label.
    "missing": {
        "state": ("当前状态未在随访周期内记录", "current state not recorded within the follow-up cadence"),
        "measure": ("无有效帮扶举措", "no active help measure"),
        "basic:guardian": ("缺少监护人联系方式", "no guardian phone"),
        "basic": ("缺少{}", "missing {}"),
    },
    # Column headers of the command-line tables that have no field of their own.
    "column": {
        "code": ("代码", "Code"),
        "name": ("名称", "Name"),
        "version": ("版本", "Version"),
        "items": ("条目数", "Items"),
        "bands": ("分级", "Bands"),
        "n": ("人数", "Count"),
        "share": ("占比", "Share"),
        "batch": ("批次", "Batch"),
        "file": ("文件", "File"),
        "imported_at": ("导入时间", "Imported at"),
        "imported": ("导入", "Imported"),
        "rejected": ("拒绝", "Rejected"),
        "voided": ("作废", "Void"),
        "item": ("项目", "Item"),
        "value": ("值", "Value"),
        "staff_name": ("姓名", "Name"),
        "display_name": ("显示名", "Display name"),
        "role": ("角色", "Role"),
        "college_scope": ("学院范围", "Colleges"),
        "slots": ("密钥槽", "Key slots"),
        "active": ("在职", "Active"),
        "setting": ("设置", "Setting"),
        "what": ("说明", "What it is"),
    },
    # What `settings show` says of each setting (mhtool/admin/domain/settings_view.py).
    "setting": {
        "purpose_required_roles": ("须填写用途的角色", "Roles that must state a purpose"),
        "retention_years": ("离校后档案保存年限", "Years dossiers are kept after leaving"),
        "research_min_cell": ("研究导出最小单元格人数", "Smallest cell of a research export"),
        "cadence": ("随访周期", "Follow-up cadence"),
        "screening_policy": ("筛查策略", "Screening policy"),
        "timezone": ("时区", "Time zone"),
        "center_name": ("中心名称（报表页眉）", "Center name (report header)"),
        "term_first_monday": ("本学期第一周周一", "First Monday of the term"),
        "signal_fact_days": ("校园数据保存天数", "Days campus facts are kept"),
        "credits_required": ("毕业所需学分", "Credits needed to graduate"),
        "signal_rules": ("校园预警规则", "Campus signal rules"),
        "built_in": ("内置默认", "built-in defaults"),
        "unset": ("未设置", "not set"),
        "nobody": ("无", "none"),
        "days": ("天", "days"),
        "years": ("年", "years"),
    },
    # How a staff member's key slot is opened (staff list): the slot's key-derivation function.
    "slot_kind": {
        "keyfile": ("密钥文件", "key file"),
        "argon2id": ("口令（Argon2id）", "passphrase (Argon2id)"),
        "scrypt": ("口令（scrypt）", "passphrase (scrypt)"),
    },
    # What `mhtool info` shows of a store (mhtool/admin/domain/store_view.py).
    "store_field": {
        "store": ("存储文件", "Store file"),
        "store_id": ("存储编号", "Store id"),
        "schema_version": ("数据结构版本", "Schema version"),
        "created_at": ("创建时间", "Created"),
        "timezone": ("时区", "Time zone"),
        "key_generation": ("密钥代次", "Key generation"),
        "rotation_in_progress": ("密钥轮换未完成", "Key rotation unfinished"),
        "staff": ("在职工作人员", "Active staff"),
        "size_bytes": ("文件大小", "File size"),
    },
    # How many records a store holds, by table (mhtool info).
    "record_table": {
        "audit": ("审计日志条目", "Audit entries"),
        "students": ("学生档案", "Student dossiers"),
        "watches": ("关注记录", "Watch episodes"),
        "entries": ("档案记录", "Dossier entries"),
        "tasks": ("任务", "Tasks"),
        "batches": ("筛查批次", "Screening batches"),
        "responses": ("筛查作答", "Screening responses"),
        "hospitals": ("转介医院", "Hospitals"),
        "referrals": ("转介", "Referrals"),
        "signals": ("校园预警信号", "Campus signals"),
        "signal_facts": ("校园数据（按日）", "Campus facts (by day)"),
        "network_members": ("班级心理网络成员", "Class network members"),
        "network_reports": ("班级报告", "Class reports"),
        "appointments": ("咨询预约", "Appointments"),
        "counseling_groups": ("团体辅导", "Counseling groups"),
        "activities": ("心理健康活动", "Activities"),
    },
    # What `survey batch` shows of one imported batch (mhtool/survey/domain/batch_view.py).
    "batch_field": {
        "id": ("批次编号", "Batch"),
        "name": ("名称", "Name"),
        "instrument": ("量表", "Instrument"),
        "version": ("量表版本", "Instrument version"),
        "file": ("文件", "File"),
        "sheet": ("工作表", "Sheet"),
        "profile": ("导出格式", "Export profile"),
        "answer_mode": ("选项读取方式", "Answers read as"),
        "imported_at": ("导入时间", "Imported at"),
        "imported_by": ("导入人", "Imported by"),
        "rows": ("数据行数", "Data rows"),
        "imported": ("已导入", "Imported"),
        "superseded": ("重复提交（以最后一次为准）", "Resubmitted (the last one kept)"),
        "rejected": ("已拒绝", "Rejected"),
        "cohort": ("应参与年级", "Expected cohort"),
        "proposed": ("导入时建议关注", "Proposed at import"),
        "bands": ("分级人数", "By band"),
        "proposed_levels": ("建议关注等级人数", "By proposed level"),
        "colleges": ("各学院人数", "By college"),
        "voided": ("已作废", "Void"),
        "void_reason": ("作废原因", "Reason voided"),
        "voided_by": ("作废人", "Voided by"),
        "voided_at": ("作废时间", "Voided at"),
        "rescored": ("重新计分", "Rescored"),
        "unknown_cohort": ("未知（普查报告的应参与人数和参与率留空）", "unknown (the census report leaves the expected count and rate empty)"),
        "rescored_line": ("{at} {by}（{version} 版）", "{at} by {by} (version {version})"),
    },
    # How an import read the answer cells (survey import --answers).
    "answer_mode": {
        "auto": ("自动识别", "detected"),
        "value": ("按分值", "as scores"),
        "position": ("按选项序号", "as option numbers"),
        "text": ("按选项文本", "as option text"),
    },
    "field": {
        "student_no": ("学号", "Student no."),
        "name": ("姓名", "Name"),
        "gender": ("性别", "Gender"),
        "college": ("学院", "College"),
        "major": ("专业", "Major"),
        "grade": ("年级", "Grade"),
        "class_name": ("班级", "Class"),
        "dorm": ("宿舍", "Dorm"),
        "phone": ("手机", "Phone"),
        "advisor": ("辅导员", "Advisor"),
        "advisor_phone": ("辅导员电话", "Advisor phone"),
        "guardians": ("监护人", "Guardians"),
        "groups": ("特殊群体", "Special groups"),
        "tags": ("标签", "Tags"),
        "status": ("状态", "Status"),
        "level": ("关注等级", "Watch level"),
        "level_since": ("关注起始", "Since"),
        "level_reason": ("关注原因", "Reason"),
        "counselor": ("负责咨询师", "Counselor"),
        "date": ("日期", "Date"),
        "author": ("记录人", "Recorded by"),
        "kind": ("类型", "Kind"),
        "summary": ("内容", "Summary"),
        "due": ("截止日期", "Due"),
        "task": ("任务", "Task"),
        "instrument": ("量表", "Instrument"),
        "band": ("分级", "Band"),
        "proposed_level": ("建议关注等级", "Proposed level"),
        "flags": ("关键条目", "Critical items"),
        "row": ("行", "Row"),
        "count": ("人数", "Count"),
        "total": ("合计", "Total"),
    },
    # The period a report covers, as its sheets and notes say it (本周变动, "this week").
    "report_period": {
        "week": ("本周", "week"),
        "month": ("本月", "month"),
        "range": ("本期", "period"),
    },
    # The signature block under a summary sheet (填报人 / 审核人 / 负责人签字 / 日期).
    "signature": {
        "prepared": ("填报人", "Prepared by"),
        "reviewed": ("审核人", "Reviewed by"),
        "approved": ("负责人签字", "Approved by"),
        "date": ("日期", "Date"),
    },
    # What a 零报告 line says was not there in the period (本周无新增关注学生，无危机事件，…).
    "zero_item": {
        "new": ("无新增关注学生", "no new watched students"),
        "crises": ("无危机事件", "no crises"),
        "referrals": ("无新增转介", "no new referrals"),
        "separator": ("，", ", "),
    },
    # Words of report file names (普查报告_2026秋季UPI_脱敏.xlsx).
    "report_file": {
        "weekly": ("周报", "weekly"),
        "monthly": ("月报", "monthly"),
        "census": ("普查报告", "census"),
        "crisis": ("危机事件报告", "crisis"),
        "interviews": ("约谈名单", "interviews"),
        "redacted": ("脱敏", "redacted"),
    },
    # What a redacted copy (--redact) shows in place of what it masks or coarsens.
    "redact_token": {
        "student": ("[学生]", "[student]"),
        "guardian": ("[家长]", "[guardian]"),
        "advisor": ("辅导员", "advisor"),
        "staff": ("工作人员", "staff"),
        "student_no": ("[学号]", "[student no.]"),
        "number": ("[号码]", "[number]"),
        "phone": ("[电话]", "[phone]"),
        "id_card": ("[身份证号]", "[ID number]"),
        "dorm": ("[宿舍]", "[dorm]"),
        "class_name": ("[班级]", "[class]"),
        "hospital": ("[医院]", "[hospital]"),
        "other": ("其他", "other"),
        "watched": ("关注", "watched"),
    },
    # How a redacted table was coarsened to stay k-anonymous, as its note says.
    "redact_rung": {
        "gender": ("未列性别", "gender is left out"),
        "grade": ("部分年级显示为“其他”", "some grades read “other”"),
        "college": ("部分学院显示为“其他”", "some colleges read “other”"),
        "level": ("部分关注等级合并为“关注”", "some watch levels are merged into “watched”"),
        "separator": ("，", ", "),
    },
}

# 个体咨询与团体辅导 (codes of mhtool/domain/vocabulary.py).
_LABELS.update(
    {
        "session_mode": {
            "in_person": ("面询", "in person"),
            "phone": ("电话", "phone"),
            "online": ("网络", "online"),
        },
        "concern": {
            "emotion": ("情绪困扰", "emotional distress"),
            "relationship": ("人际关系", "relationships"),
            "romance": ("恋爱情感", "romantic relationships"),
            "academic": ("学业压力", "academic stress"),
            "career": ("生涯发展", "career"),
            "family": ("家庭关系", "family"),
            "adaptation": ("环境适应", "adjustment"),
            "self_growth": ("自我成长", "personal growth"),
            "sleep": ("睡眠与身心", "sleep and body"),
            "crisis": ("危机与安全", "crisis and safety"),
            "other": ("其他", "other"),
        },
        "session_risk": {
            "high": ("高风险", "high"),
            "medium": ("中风险", "medium"),
            "low": ("低风险", "low"),
        },
        "session_outcome": {
            "achieved": ("达成咨询目标", "goals achieved"),
            "improved": ("部分改善", "partly improved"),
            "referred": ("转介就医", "referred"),
            "transferred": ("转其他咨询师", "transferred to another counselor"),
            "discontinued": ("来访者中止", "discontinued by the student"),
            "other": ("其他", "other"),
        },
        "appointment_status": {
            "booked": ("已预约", "booked"),
            "attended": ("已咨询", "attended"),
            "cancelled": ("已取消", "cancelled"),
            "no_show": ("爽约", "no-show"),
        },
        "activity_kind": {
            "lecture": ("讲座", "lecture"),
            "month_525": ("5·25心理健康月活动", "5·25 mental-health month event"),
            "class_meeting": ("主题班会", "class meeting"),
            "workshop": ("工作坊", "workshop"),
            "training": ("心理委员培训", "peer-monitor training"),
            "other": ("其他活动", "other"),
        },
        "conference_kind": {
            "case_conference": ("案例研讨", "case conference"),
            "supervision": ("督导", "supervision"),
        },
        "weekday": {
            "1": ("周一", "Mon"),
            "2": ("周二", "Tue"),
            "3": ("周三", "Wed"),
            "4": ("周四", "Thu"),
            "5": ("周五", "Fri"),
            "6": ("周六", "Sat"),
            "7": ("周日", "Sun"),
        },
    }
)


def label(domain: str, code: str | None, lang: str = DEFAULT_LANG) -> str:
    """The label of ``code`` in ``domain`` (e.g. ``label("level", "red")``).

    Unknown codes come back unchanged, so a new code never crashes a report.
    """
    if code is None:
        return ""
    entry = _LABELS.get(domain, {}).get(code)
    if entry is None:
        return str(code)
    return entry[0] if lang == "zh" else entry[1]


# Sentences and fragments of reports and messages, with {placeholders}; see :func:`text`.
_TEXT: dict[str, tuple[str, str]] = {
    "redacted_suffix": ("（已脱敏）", " (redacted)"),
    "period_line": ("统计周期：{period}", "Period: {period}"),
    "generated_line": ("生成时间：{when}", "Generated: {when}"),
    "title_separator": ("　", "   "),
    "period_week": ("{year}年第{week}周（{start} 至 {end}）", "{label} ({start} to {end})"),
    "period_month": ("{year}年{month}月（{start} 至 {end}）", "{label} ({start} to {end})"),
    "period_range": ("{start} 至 {end}", "{start} to {end}"),
    "form_blank": ("{label}：{blank}", "{label}: {blank}"),
    # The printed page frame of every workbook: who it is from, its classification, page numbers
    # (&P and &N are the page-number codes of a sheet's header and footer).
    # The same words as report_unit_default (the crisis form's 报告单位), so both name one center.
    "print_unit_default": ("心理健康教育与咨询中心", "Mental-health education and counseling center"),
    "print_classification": ("内部资料 注意保密", "Internal — confidential"),
    "print_page": ("第 &P 页 共 &N 页", "Page &P of &N"),
    # Notes of the report sheets (周报/月报/普查/危机); {period} is a ``report_period`` word.
    "report_not_set": ("（未填写）", "(not set)"),
    "report_summary_note": (
        "期末一级/二级/三级、期末合计 = {asof} 日终在关注名单上的学生（一级 = 红色，二级 = 橙色，三级 = 黄色）；"
        "环比 = 期末合计与上期末（{start} 日终）之差。新增关注、解除关注按学生计（{period}内多次变动只计一次），"
        "约谈人次、危机事件按记录计；逾期任务 = 期末时已过截止日期仍未完成的任务（约谈、回访、复学评估、提醒、转介各类），"
        "与待办任务列表中的逾期任务同一口径。期初与其他明细见“汇总(明细)”。",
        "End red/orange/yellow and end total = on the watch list at the end of {asof} (red = level 1, orange = level 2, "
        "yellow = level 3); change = the end total minus the total at the end of the previous period ({start}). New and closed count students "
        "(a student changed twice in the {period} counts once); interviews and crises count records; overdue tasks were "
        "past due and not done at the end (interviews, follow-ups, return reviews, reminders and referral tasks alike), "
        "as `cases tasks --overdue` counts them. Start figures and the other details are on the detail sheet.",
    ),
    "report_detail_note": (
        "期初 = {start} 日终在关注名单上的学生。升级、降级、休学、复学按学生计，家校沟通、回访人次按记录计；"
        "回访逾期、约谈逾期为期末时已过截止日期仍未完成的回访、约谈任务。",
        "Start = watched at the end of {start}. Raised, lowered, leave and return count students; guardian contacts and "
        "follow-ups count records; follow-ups and interviews overdue were past due and not done at the end.",
    ),
    "report_signals_zero": ("零报告：{period}无新增多源预警信号。", "Zero report: no new signals this {period}."),
    "report_signals_note": (
        "新增 = {start} 至 {asof} 首次触发的预警信号，按信号计（同一学生同一规则再次触发时延续原信号，不重复计）；"
        "其中已研判、其中待研判 = 这些信号在 {asof} 日终是否已由咨询师研判（关注、已知晓、排除）；"
        "期末待研判（含往期）= {asof} 日终尚未研判的全部信号，与预警雷达（待研判名单）所列信号同一口径。"
        "预警信号来自门禁、一卡通、教务数据，是提示，不是诊断，不改变关注等级。",
        "New = signals first hit from {start} to {asof}, counted by signal (a rule that hits the same student again extends "
        "that signal); of which reviewed / pending = whether a counselor had reviewed them (watch, noted, dismissed) by the "
        "end of {asof}; pending at the end (all) = every signal not reviewed by the end of {asof}, earlier ones included, "
        "as `mhtool signals list` lists them. Signals come from dorm access, campus card and academic records: they are "
        "hints, not diagnoses, and never change a watch level.",
    ),
    "report_zero_line": ("零报告：{period}{items}。", "Zero report: this {period}, {items}."),
    "report_groups_note": (
        "六类特殊群体按学生名单（档案）中在读学生计，截至 {today}；同一学生属于多类时各类分别计入，“合计”按人数去重；"
        "其中关注 = 期末（{asof} 日终）在关注名单上的特殊群体学生。",
        "Students on roll in the roster (dossiers) as of {today}; a student in several groups counts in each, the total "
        "counts persons once; of whom watched = special-group students on the watch list at the end of {asof}.",
    ),
    "report_screening_totals": (
        "合计（人数）按学生去重：同一学生参加多个量表只计一次，建议等级取其最高者；各批次共 {visits} 人次参与，筛查阳性 {positive} 人次。",
        "The total counts persons: a student who took several instruments counts once, at the highest level proposed; "
        "the batches had {visits} responses in all, {positive} of them positive.",
    ),
    "report_band_note": (
        "“分级：…”为量表本身的得分分级；筛查阳性 = 筛查提示关注等级（一、二、三级）的人数，包括因关键条目提示者，因此可与量表“阳性”分级人数不同。"
        "性别、年级、学院取自学生名单（档案），名单没有时取问卷所填。",
        "“Band: …” is the instrument's own score band; positive = students the screening proposes a level for, including "
        "those proposed for a critical item, so it may differ from a band named positive. Gender, grade and college come "
        "from the roster (dossiers), else from the answers.",
    ),
    "report_band_column": ("分级：{band}", "Band: {band}"),
    "report_total_persons": ("合计（人数）", "Total (persons)"),
    "report_teaching_week": ("（第{week}教学周）", " (teaching week {week})"),
    "report_screening_note": (
        "参与人数、筛查阳性按人数计；筛查阳性 = 筛查提示关注等级（一、二、三级）的人数，筛查结果是提示，不是诊断。"
        "已约谈 = 筛查阳性学生中自本批次导入之日起至期末有约谈记录者（与普查报告同一口径）；"
        "约谈逾期 = 筛查阳性学生中约谈任务期末时已过截止日期仍未完成者。",
        "Respondents and positive count persons; positive = students the screening proposes a level for; screening "
        "results are indications, not diagnoses. Interviewed = positive students with an interview recorded from the "
        "batch's import day to the end of the period (as the census report counts them); interviews overdue = positive "
        "students whose interview task was past due and not done at the end.",
    ),
    "report_clarity_note": (
        "基本信息：姓名、性别、学院、班级、本人电话、辅导员及监护人电话齐全；当前状态：在随访周期内有约谈、回访、家校沟通或危机记录；帮扶举措：有有效的帮扶举措。",
        "Basic information: name, gender, college, class, phone, advisor and a guardian's phone; current state: an interview, "
        "follow-up, guardian contact or crisis record within the follow-up cadence; help measures: an active help measure.",
    ),
    "report_census_note": (
        "应参与 = 学生名单中属于本批次预期年级的在读学生（名单外的参与者一并计入）；未导入学生名单或预期年级未知时为空。"
        "筛查阳性 = 筛查提示关注等级的人数；筛查结果是提示，不是诊断。",
        "Expected = enrolled students of the roster in the batch's expected cohort (respondents missing from the roster are added); "
        "empty when no roster was imported or the cohort is unknown. Positive = students the screening proposes a level for; "
        "screening results are indications, not diagnoses.",
    ),
    "report_census_cohort": (
        "本批次预期参与年级（应参与）：{cohort}（导入时指定，未指定时取导出文件或所匹配学生档案中的年级）。",
        "Expected cohort of this batch: {cohort} (set at import with --cohort; by default the grades of the export or of the matched dossiers).",
    ),
    "report_census_cohort_unknown": (
        "本批次未确定预期参与年级（导出文件与所匹配学生的档案均无年级），应参与与参与率未计算；"
        "可作废本批次后在导入时指定预期年级，重新导入。",
        "This batch has no expected cohort (no grade in the export or in the matched dossiers), so Expected and "
        "Participation are left empty; void the batch (survey void) and import it again with --cohort.",
    ),
    "report_census_voided": ("注意：本批次已作废（{reason}）。", "Note: this batch was voided ({reason})."),
    "dossier_erased": (
        "学号 {no} 的档案已于 {on} 由 {by} 删除（{basis}；原因：{reason}）。仅保留删除记录（假名 {pseudonym}），不含任何个人信息。",
        "The dossier of {no} was {basis} on {on} by {by} (reason: {reason}). Only this record of the erasure is kept (pseudonym {pseudonym}); it holds no personal data.",
    ),
    "signal_review_head": ("{rule}研判为{outcome}", "{rule} reviewed: {outcome}"),
    "dossier_signals_note": (
        "多源预警信号由门禁、一卡通、教务数据按规则生成，是提示，不是诊断，不改变关注等级；研判结果（关注、已知晓、排除）由咨询师记录。",
        "Signals are made by rules from dorm access, campus card and academic records: hints, not diagnoses; they never "
        "change a watch level. A counselor records the review (watch, noted, dismissed).",
    ),
    "report_parents_unrecorded": ("尚未记录家长知悉时间", "parents not yet recorded as notified"),
    "report_parents_no_hour": ("已通知家长（事件时间未记录到时分）", "parents notified (the event time has no hour)"),
    "report_parents_within": ("{limit}小时内已通知家长", "parents notified within {limit} hours"),
    "report_parents_late": ("超过{limit}小时（{hours}小时）才通知家长", "parents notified after {hours} hours (norm: {limit})"),
    "report_interviews_note": (
        "筛查结果是提示，不是诊断；关注等级以咨询师约谈确认为准。",
        "Screening results are indications, not diagnoses; a counselor confirms every level.",
    ),
    "report_reasons_clinical": ("原因仅咨询师可见。", "Reasons are shown to counselors only."),
    "report_signal_tasks_clinical": (
        "其中 {n} 项为多源预警的研判任务：是哪位学生的仅咨询师可见。",
        "{n} of them are signal review tasks: whose they are is shown to counselors only.",
    ),
    "report_hospitals_clinical": ("转介医院仅咨询师可见。", "Hospitals are shown to counselors only."),
    # A critical item as a counselor reads it: the item's wording and its number on the form.
    "screening_flag_item": ("{text}（第{item}题）", "{text} (item {item})"),
    # A failed course as a signal's sentence names it: 高等数学（53）, 大学英语（补考 41）.
    "course_detail": ("{course}（{detail}）", "{course} ({detail})"),
    # Two sentences of a note, one after the other (Chinese sets no space after 。).
    "sentences": ("{first}{second}", "{first} {second}"),
    # Someone told at a moment (crisis records: 家长 2026-11-15 23:40), and the separator of such a list.
    "notice_at": ("{who} {at}", "{who} {at}"),
    "notice_how": ("{who}（{how}）", "{who} ({how})"),
    "list_separator": ("、", ", "),
    # A counseling session's place in its series (个体咨询 第3次).
    "session_number": ("第{n}次", "session {n}"),
    # Between the clauses of a one-line summary, and between a head and its detail (一级 → 二级：原因).
    "clause_separator": ("；", "; "),
    "clause_colon": ("：", ": "),
    "level_unchanged": ("{level}（{same}）", "{level} ({same})"),
    "report_unit_default": ("心理健康教育与咨询中心", "Mental-health education and counseling center"),
    "report_upward_unrecorded": ("尚未记录向上级报告情况", "not yet recorded as reported upward"),
    "report_crisis_note": ("本报告含学生敏感信息，仅限危机处置相关人员知悉，不得外传。", "This report holds sensitive data: for the people handling the crisis only."),
    "redact_suppressed": ("另有 {n} 行即使合并后仍可识别到个人，未列出", "{n} row(s) that would still identify someone are left out"),
    "redact_coarsened": (
        "脱敏：为使每一行至少与另外 {others} 行无法区分，{rungs}。",
        "Redacted: so that no row can be told apart from at least {others} other row(s), {rungs}.",
    ),
}


_TEXT.update(
    {
        # A peer-report signal's explanation: who reported, for which unit and period, and what they wrote.
        "peer_explanation": ("{role}{reporter}（{unit}，{period}）报告：{description}", "{role} {reporter} ({unit}, {period}) reported: {description}"),
        "peer_told_advisor": ("（已告知辅导员）", " (the advisor was told)"),
        "peer_not_told_advisor": ("（未告知辅导员）", " (the advisor was not told)"),
        "peer_no_description": ("未填写情况描述", "no description given"),
    }
)


# The headings and titles of the referral tables (mhtool/referral/cli.py).
_LABELS["referral_table"] = {
    "hospital": ("医院", "Hospital"),
    "department": ("科室", "Department"),
    "grade": ("等级", "Grade"),
    "phone": ("电话", "Phone"),
    "address": ("地址", "Address"),
    "green": ("绿色通道", "Green channel"),
    "directory": ("医院名录", "Hospitals directory"),
    "id": ("编号", "Id"),
    "urgency": ("紧急程度", "Urgency"),
    "referred_on": ("转介日期", "Referred on"),
    "next_review": ("下次复查", "Next review"),
    "alerts": ("提醒", "Alerts"),
    "referrals": ("转介", "Referrals"),
    "item": ("项目", "Item"),
    "value": ("内容", "Value"),
    "valid_next": ("可进入状态", "Possible next steps"),
    "referral": ("转介 {ref}", "Referral {ref}"),
    "step": ("过程", "Step"),
    "steps": ("过程记录", "Steps"),
}

# The 咨询与活动 sheet's headings and breakdowns (mhtool/report/domain/counseling.py).
_LABELS["counseling_sheet"] = {
    "dimension": ("统计项", "Breakdown"),
    "item": ("项目", "Item"),
    "events": ("场次", "Meetings / events"),
    "count": ("人次", "Attendances"),
    "people": ("人数", "People"),
    "previous_month": ("上月人次", "Previous month"),
    "previous_week": ("上周人次", "Previous week"),
    "previous_range": ("上期人次", "Previous period"),
    "change": ("人次环比", "Change"),
    "sessions": ("个体咨询", "Individual counseling"),
    "by_counselor": ("个体咨询·咨询师", "Sessions by counselor"),
    "by_college": ("个体咨询·学院", "Sessions by college"),
    "by_concern": ("个体咨询·问题类别", "Sessions by concern"),
    "groups": ("团体辅导", "Group counseling"),
    "activities": ("心理健康活动", "Activities"),
    "crises": ("危机干预", "Crisis intervention"),
    "total": ("合计", "Total"),
    "crisis_events": ("危机事件", "Crises recorded"),
    "concern_withheld": ("（问题类别仅在咨询师或管理员生成的报告中列出）", "(concern categories: only in a report a counselor or an admin makes)"),
    "not_set": ("（未填写）", "(not set)"),
    "unit_week": ("周", "week"),
    "unit_month": ("月", "month"),
    "unit_range": ("期", "period"),
}

# The notes of the 咨询与活动 and 上报情况 sheets.
_TEXT.update(
    {
        "counseling_definitions": (
            "人次：个体咨询为咨询记录数，团体辅导为各场出席人数之和，心理健康活动为各场参加人数之和，危机干预为危机事件数（与汇总表同口径）；"
            "人数为去重学生数；场次为团体辅导活动次数或心理健康活动场数；{previous}为上一{unit}的人次；"
            "人次环比 =（本期 − 上期）÷ 上期，上期为 0 时不计；学院按学生档案统计。",
            "Attendances: sessions recorded; the sum of those present at each group meeting; the sum of activities' head counts; "
            "crises recorded (as on the summary sheet). People: distinct students. Meetings / events: group meetings or activities "
            "held. {previous}: attendances of the {unit} before; change = (this − previous) ÷ previous, empty when the previous "
            "was 0. Colleges are those of the students' dossiers.",
        ),
        "counseling_confidential": ("本表只计数，咨询内容不随报告导出。", "Counts only: what a session holds never leaves in a report."),
        "counseling_concern_withheld": (
            "问题类别需由咨询师或管理员生成本报告时列出：文员（及定时任务账户）的密钥不能读取咨询内容。",
            "Concern categories are listed when a counselor or an admin makes the report: a clerk's (or the cron account's) key "
            "cannot read what a session holds.",
        ),
        "counseling_zero": ("本期无个体咨询、团体辅导、心理健康活动与危机干预记录。", "No session, group meeting, activity or crisis was recorded in the period."),
        "network_no_roster": (
            "尚未导入五级网络名册，没有可统计的班级。",
            "No network roster has been imported (`mhtool network import`): there are no classes to count.",
        ),
        "network_all_reported": ("名册中的班级均已上报。", "Every class of the roster has reported for this {period}."),
        "network_period_week": ("本期报告 = {periods}的班级报告。", "Reports of the period = class reports for the week {periods}."),
        "network_period_month": (
            "本期报告 = {month}的月报，或周一落在本月内的各周（{weeks}）的周报；班级在其中任一期有报告即计为已上报。",
            "Reports of the period = class reports for the month {month}, or for an ISO week whose Monday lies in the month ({weeks}); "
            "a class with a report for any of them has reported.",
        ),
        "network_period_range": (
            "本期报告 = 周一落在 {start} 至 {end} 内的各周、或 1 日落在其中的月份的班级报告（{periods}）；班级在其中任一期有报告即计为已上报。",
            "Reports of the period = class reports for an ISO week whose Monday, or a month whose first day, lies in {start}–{end} "
            "({periods}); a class with a report for any of them has reported.",
        ),
        "network_definitions": (
            "班级数 = 五级网络名册中该学院的班级（按生成报告时的名册）；已上报 = 有本期报告的班级，零报告（无异常）计为已上报；"
            "上报率 = 已上报 ÷ 班级数；其中零报告 = 本期报告均为无异常的班级；其中有情况 = 本期至少一份报告为有情况的班级；"
            "未上报班级 = 名册中本期没有报告的班级。名册以外班级的报告不计入。周为自然周（周一至周日）。"
            "本表只计数：情况描述仅咨询师可在学生档案中查看。",
            "Classes = the college's classes in the network roster (as it stands when the report is made); reported = classes with a "
            "report of the period, a zero report (无异常) included; report rate = reported ÷ classes; of which zero reports = classes "
            "whose reports of the period all say 无异常; of which concerns = classes with at least one 有情况 report; classes not "
            "reported = roster classes with no report of the period. Reports of classes not in the roster are not counted. Weeks are "
            "ISO weeks (Monday to Sunday). The sheet counts only: the descriptions are in the dossiers, for counselors.",
        ),
    }
)


def network_period_name(code: str, lang: str) -> str:
    """A report period as people read it: ``2026年第48周`` / ``2026年11月`` in Chinese, the code (``2026-W48``) in English."""
    if lang != "zh":
        return code
    year, _sep, rest = code.partition("-")
    if rest.startswith("W"):
        return f"{year}年第{int(rest[1:])}周"
    return f"{year}年{int(rest)}月" if rest.isdigit() else code


def peer_explanation(content: dict, lang: str = DEFAULT_LANG) -> str:
    """The sentence a peer-report signal shows: reporter's role and name, unit, period, the description, whether the advisor knows."""
    description = " ".join(str(content.get("description") or "").split()) or text("peer_no_description", lang)
    sentence = text(
        "peer_explanation",
        lang,
        role=label("network_role", content.get("role"), lang) if content.get("role") else "",
        reporter=str(content.get("reporter") or ""),
        unit=str(content.get("unit") or ""),
        period=network_period_name(str(content.get("period") or ""), lang),
        description=description,
    )
    if lang != "zh":
        sentence = " ".join(sentence.split())
        sentence = sentence[:1].upper() + sentence[1:]
    told = content.get("told_advisor")
    if told is True:
        sentence += text("peer_told_advisor", lang)
    elif told is False:
        sentence += text("peer_not_told_advisor", lang)
    return sentence


def text(key: str, lang: str = DEFAULT_LANG, **values) -> str:
    """A catalog sentence in ``lang`` with its ``{placeholders}`` filled (``text("period_line", "en", period=…)``)."""
    zh, en = _TEXT[key]
    return (zh if lang == "zh" else en).format(**values)


def staff_name(login: str | None, names: dict[str, str] | None) -> str | None:
    """The name people read for a staff login (张华 for zhanghua); anything else as it is (an advisor typed by hand)."""
    if not login:
        return login
    return (names or {}).get(login) or login


def pick(lang: str, zh: str, en: str | None) -> str:
    """One of a pair of texts that a definition file carries in both languages (instrument and sheet titles)."""
    return zh if lang == "zh" else (en or zh)


def columns(pairs: list[tuple[str, str]], lang: str = DEFAULT_LANG) -> list[tuple[str, str]]:
    """Table columns as (row key, header) from (row key, ``column`` label code) pairs."""
    return [(key, label("column", code, lang)) for key, code in pairs]


def level_label(code: str | None, lang: str = DEFAULT_LANG) -> str:
    return label("level", code, lang)


def codes(domain: str) -> tuple[str, ...]:
    """Every code known in ``domain``, in display order."""
    return tuple(_LABELS[domain])


def code_from_label(domain: str, text: str) -> str | None:
    """Accept a code or either label (``红色``, ``一级``, ``red``) and return the code."""
    t = (text or "").strip().lower()
    if not t:
        return None
    for code, (zh, en) in _LABELS.get(domain, {}).items():
        if t in (code, zh.lower(), en.lower()):
            return code
    if domain == "level":
        aliases = {
            "red": ("一级", "红", "红色", "1", "i"),
            "orange": ("二级", "橙", "橙色", "2", "ii"),
            "yellow": ("三级", "黄", "黄色", "3", "iii"),
            "none": ("无", "否", "不关注", "解除", "0", "无需关注"),
        }
        for code, names in aliases.items():
            if t in names:
                return code
    return None
