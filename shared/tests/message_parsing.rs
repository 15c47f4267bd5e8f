//! Every message and event type, in both formats, from the samples WeChat documents (and the
//! variations seen in the wild: string numbers, MsgId beyond 2^53, List as object or array).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use kefu::protocol::{
    Event, Format, Message, MessageKind, MsgId, NotAnOpenId, ParseError, SubscribeItem,
};

fn both(xml: &str, json: &str) -> Message {
    let from_xml = Message::from_xml(xml).expect("xml parses");
    let from_json = Message::from_json(json).expect("json parses");
    assert_eq!(from_xml, from_json, "XML and JSON forms must agree");
    from_xml
}

#[test]
fn text_message_in_both_formats() {
    let m = both(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\n\
         <CreateTime>1482048670</CreateTime><MsgType><![CDATA[text]]></MsgType>\n\
         <Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>",
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"text","Content":"this is a test","MsgId":1234567890123456}"#,
    );
    assert_eq!(m.to_user_name, "toUser");
    assert_eq!(m.openid(), "fromUser");
    assert_eq!(m.create_time, 1482048670);
    assert_eq!(m.msg_id, Some(MsgId("1234567890123456".into())));
    assert_eq!(
        m.kind,
        MessageKind::Text {
            content: "this is a test".into()
        }
    );
    assert_eq!(m.dedup_key(), "1234567890123456");
}

#[test]
fn image_message_in_both_formats() {
    let m = both(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1482048670</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <PicUrl><![CDATA[this is a url]]></PicUrl><MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId></xml>",
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"image","PicUrl":"this is a url","MediaId":"media_id","MsgId":1234567890123456}"#,
    );
    assert_eq!(
        m.kind,
        MessageKind::Image {
            pic_url: "this is a url".into(),
            media_id: "media_id".into()
        }
    );
}

#[test]
fn miniprogrampage_message_in_both_formats() {
    let m = both(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1482048670</CreateTime><MsgType><![CDATA[miniprogrampage]]></MsgType><MsgId>1234567890123456</MsgId>\
         <Title><![CDATA[Title]]></Title><AppId><![CDATA[AppId]]></AppId><PagePath><![CDATA[PagePath]]></PagePath>\
         <ThumbUrl><![CDATA[ThumbUrl]]></ThumbUrl><ThumbMediaId><![CDATA[ThumbMediaId]]></ThumbMediaId></xml>",
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"miniprogrampage","MsgId":1234567890123456,"Title":"Title","AppId":"AppId","PagePath":"PagePath","ThumbUrl":"ThumbUrl","ThumbMediaId":"ThumbMediaId"}"#,
    );
    assert_eq!(
        m.kind,
        MessageKind::MiniProgramPage {
            title: "Title".into(),
            app_id: "AppId".into(),
            page_path: "PagePath".into(),
            thumb_url: "ThumbUrl".into(),
            thumb_media_id: "ThumbMediaId".into(),
        }
    );
}

#[test]
fn link_message_in_both_formats() {
    let m = both(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1482048670</CreateTime><MsgType><![CDATA[link]]></MsgType><Title><![CDATA[公众平台官网链接]]></Title>\
         <Description><![CDATA[公众平台官网链接]]></Description><Url><![CDATA[https://example.com/a?b=1&c=2]]></Url><MsgId>1234567890123456</MsgId></xml>",
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"link","Title":"公众平台官网链接","Description":"公众平台官网链接","Url":"https://example.com/a?b=1&c=2","MsgId":"1234567890123456"}"#,
    );
    assert_eq!(
        m.kind,
        MessageKind::Link {
            title: "公众平台官网链接".into(),
            description: "公众平台官网链接".into(),
            url: "https://example.com/a?b=1&c=2".into(),
        }
    );
}

#[test]
fn user_enter_tempsession_has_no_msgid_and_dedups_on_sender_time_and_event() {
    let m = both(
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1482048670</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[user_enter_tempsession]]></Event><SessionFrom><![CDATA[sessionFrom]]></SessionFrom></xml>",
        r#"{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sessionFrom"}"#,
    );
    assert_eq!(m.msg_id, None);
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::UserEnterTempsession {
            session_from: "sessionFrom".into()
        })
    );
    assert_eq!(m.dedup_key(), "fromUser#1482048670#user_enter_tempsession");
}

#[test]
fn kf_session_events_in_both_formats() {
    let header = |event: &str| {
        (
            format!(
                "<xml><ToUserName><![CDATA[touser]]></ToUserName><FromUserName><![CDATA[fromuser]]></FromUserName>\
                 <CreateTime>1399197672</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            ),
            format!(
                r#"{{"ToUserName":"touser","FromUserName":"fromuser","CreateTime":1399197672,"MsgType":"event","Event":"{event}""#
            ),
        )
    };
    let (x, j) = header("kf_create_session");
    let m = both(
        &format!("{x}<KfAccount><![CDATA[test1@test]]></KfAccount></xml>"),
        &format!(r#"{j},"KfAccount":"test1@test"}}"#),
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::KfCreateSession {
            kf_account: "test1@test".into()
        })
    );

    let (x, j) = header("kf_close_session");
    let m = both(
        &format!("{x}<KfAccount><![CDATA[test1@test]]></KfAccount></xml>"),
        &format!(r#"{j},"KfAccount":"test1@test"}}"#),
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::KfCloseSession {
            kf_account: "test1@test".into(),
            close_type: None,
        })
    );

    // CloseType, when present, is kept as sent (trimmed); an empty one is none.
    let m = both(
        &format!(
            "{x}<KfAccount><![CDATA[test1@test]]></KfAccount><CloseType><![CDATA[ by_agent ]]></CloseType></xml>"
        ),
        &format!(r#"{j},"KfAccount":"test1@test","CloseType":" by_agent "}}"#),
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::KfCloseSession {
            kf_account: "test1@test".into(),
            close_type: Some("by_agent".into()),
        })
    );
    let m = both(
        &format!("{x}<KfAccount>a</KfAccount><CloseType></CloseType></xml>"),
        &format!(r#"{j},"KfAccount":"a","CloseType":""}}"#),
    );
    assert!(matches!(
        m.kind,
        MessageKind::Event(Event::KfCloseSession {
            close_type: None,
            ..
        })
    ));

    let (x, j) = header("kf_switch_session");
    let m = both(
        &format!(
            "{x}<FromKfAccount><![CDATA[test1@test]]></FromKfAccount><ToKfAccount><![CDATA[test2@test]]></ToKfAccount></xml>"
        ),
        &format!(r#"{j},"FromKfAccount":"test1@test","ToKfAccount":"test2@test"}}"#),
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::KfSwitchSession {
            from_kf_account: "test1@test".into(),
            to_kf_account: "test2@test".into()
        })
    );
}

fn popup(template: &str, status: &str, scene: &str) -> SubscribeItem {
    SubscribeItem {
        template_id: template.into(),
        subscribe_status: Some(status.into()),
        popup_scene: Some(scene.into()),
        ..SubscribeItem::default()
    }
}

#[test]
fn subscribe_popup_event_with_one_item_list_as_object_and_string_create_time() {
    let m = both(
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>\
         <CreateTime>1610969440</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_popup_event]]></Event>\
         <SubscribeMsgPopupEvent><List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>\
         <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>",
        r#"{"ToUserName":"gh_123456789abc","FromUserName":"otFpruAK8D-E6EfStSYonYSBZ8_4","CreateTime":"1610969440","MsgType":"event",
            "Event":"subscribe_msg_popup_event","List":{"TemplateId":"VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc","SubscribeStatusString":"accept","PopupScene":"0"}}"#,
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::SubscribeMsgPopup {
            list: vec![popup(
                "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc",
                "accept",
                "0"
            )]
        })
    );
}

#[test]
fn subscribe_change_event_with_several_items_as_array() {
    let m = both(
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
         <CreateTime>1610969468</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_change_event]]></Event>\
         <SubscribeMsgChangeEvent>\
         <List><TemplateId><![CDATA[t1]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List>\
         <List><TemplateId><![CDATA[t2]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List>\
         </SubscribeMsgChangeEvent></xml>",
        r#"{"ToUserName":"gh_123456789abc","FromUserName":"o1","CreateTime":1610969468,"MsgType":"event","Event":"subscribe_msg_change_event",
            "List":[{"TemplateId":"t1","SubscribeStatusString":"reject"},{"TemplateId":"t2","SubscribeStatusString":"accept"}]}"#,
    );
    let item = |t: &str, s: &str| SubscribeItem {
        template_id: t.into(),
        subscribe_status: Some(s.into()),
        ..SubscribeItem::default()
    };
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::SubscribeMsgChange {
            list: vec![item("t1", "reject"), item("t2", "accept")]
        })
    );
}

#[test]
fn subscribe_sent_event_accepts_numeric_error_codes() {
    let m = both(
        "<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
         <CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_sent_event]]></Event>\
         <SubscribeMsgSentEvent><List><TemplateId><![CDATA[t1]]></TemplateId><MsgID>1864323726461255680</MsgID>\
         <ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent></xml>",
        r#"{"ToUserName":"gh_123456789abc","FromUserName":"o1","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_sent_event",
            "List":{"TemplateId":"t1","MsgID":1864323726461255680,"ErrorCode":0,"ErrorStatus":"success"}}"#,
    );
    assert_eq!(
        m.kind,
        MessageKind::Event(Event::SubscribeMsgSent {
            list: vec![SubscribeItem {
                template_id: "t1".into(),
                msg_id: Some("1864323726461255680".into()),
                error_code: Some("0".into()),
                error_status: Some("success".into()),
                ..SubscribeItem::default()
            }]
        })
    );
}

#[test]
fn unknown_event_keeps_every_raw_field() {
    let json = r#"{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714037059,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}"#;
    let m = Message::from_json(json).unwrap();
    let MessageKind::Event(Event::Other { name, fields }) = &m.kind else {
        panic!("expected an unknown event, got {:?}", m.kind);
    };
    assert_eq!(name, "debug_demo");
    assert_eq!(
        fields.get("debug_str").map(String::as_str),
        Some("hello world")
    );
    assert_eq!(
        fields.get("CreateTime").map(String::as_str),
        Some("1714037059")
    );

    let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>\
               <CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[wxa_media_check]]></Event>\
               <isrisky>0</isrisky><result><suggest><![CDATA[pass]]></suggest></result></xml>";
    let m = Message::from_xml(xml).unwrap();
    let MessageKind::Event(Event::Other { name, fields }) = &m.kind else {
        panic!("expected an unknown event");
    };
    assert_eq!(name, "wxa_media_check");
    assert_eq!(fields.get("isrisky").map(String::as_str), Some("0"));
    assert_eq!(
        fields.get("result.suggest").map(String::as_str),
        Some("pass")
    );
}

#[test]
fn unknown_message_type_keeps_every_raw_field() {
    let m = Message::from_xml(
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>voice</MsgType><MediaId>m1</MediaId><Format>amr</Format><MsgId>7</MsgId></xml>",
    )
    .unwrap();
    let MessageKind::Other { msg_type, fields } = &m.kind else {
        panic!("expected other")
    };
    assert_eq!(msg_type, "voice");
    assert_eq!(fields.get("Format").map(String::as_str), Some("amr"));
    assert_eq!(m.msg_id, Some(MsgId("7".into())));
}

#[test]
fn msgid_beyond_2_pow_53_is_kept_exact_as_number_or_string() {
    for json in [
        r#"{"ToUserName":"t","FromUserName":"f","CreateTime":1,"MsgType":"text","Content":"x","MsgId":23241477706429916}"#,
        r#"{"ToUserName":"t","FromUserName":"f","CreateTime":"1","MsgType":"text","Content":"x","MsgId":"23241477706429916"}"#,
    ] {
        let m = Message::from_json(json).unwrap();
        assert_eq!(m.msg_id, Some(MsgId("23241477706429916".into())));
    }
    let m = Message::from_json(
        r#"{"ToUserName":"t","FromUserName":"f","CreateTime":1,"MsgType":"text","Content":"x","MsgId":18446744073709551615}"#,
    )
    .unwrap();
    assert_eq!(m.msg_id, Some(MsgId("18446744073709551615".into())));
}

#[test]
fn xml_entities_and_escaped_json_are_decoded() {
    let m = Message::from_xml(
        "<xml><ToUserName>t</ToUserName><FromUserName>f</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>text</MsgType><Content>a &amp; b &lt;c&gt; &#20154;&#x5DE5;</Content><MsgId>1</MsgId></xml>",
    )
    .unwrap();
    assert_eq!(
        m.kind,
        MessageKind::Text {
            content: "a & b <c> 人工".into()
        }
    );
    let m = Message::from_json(
        r#"{"ToUserName":"t","FromUserName":"f","CreateTime":1,"MsgType":"text","Content":"line\n\u4eba\u5de5 \"q\"","MsgId":1}"#,
    )
    .unwrap();
    assert_eq!(
        m.kind,
        MessageKind::Text {
            content: "line\n人工 \"q\"".into()
        }
    );
}

#[test]
fn malformed_bodies_get_a_precise_error() {
    assert_eq!(Message::from_json(""), Err(ParseError::Empty));
    assert_eq!(Message::from_xml("  "), Err(ParseError::Empty));
    assert!(matches!(
        Message::from_json(r#"{"ToUserName":"t""#),
        Err(ParseError::Json(_))
    ));
    assert!(matches!(
        Message::from_xml("<xml><ToUserName>t</ToUserName><FromUserName>f"),
        Err(ParseError::Xml(_))
    ));
    assert!(matches!(
        Message::from_xml("<xml><a>1</b></xml>"),
        Err(ParseError::Xml(_))
    ));
    assert!(matches!(
        Message::from_xml("<xml></xml><xml></xml>"),
        Err(ParseError::Xml(_))
    ));
    assert_eq!(
        Message::from_json(r#"{"ToUserName":"t","CreateTime":1,"MsgType":"text"}"#),
        Err(ParseError::MissingField("FromUserName"))
    );
    // FromUserName is an openid (`OpenId`): 1 to 64 letters, digits, '_' and '-'.
    for (from, why) in [
        ("", NotAnOpenId::Empty),
        ("o 1", NotAnOpenId::Characters),
        ("o#1", NotAnOpenId::Characters),
        (&"o".repeat(65), NotAnOpenId::TooLong),
    ] {
        let body = serde_json::json!({"ToUserName": "t", "FromUserName": from,
            "CreateTime": 1, "MsgType": "text", "Content": "x"});
        assert_eq!(
            Message::from_json(&body.to_string()),
            Err(ParseError::NotAnOpenId(why)),
            "{from:?}"
        );
    }
    assert_eq!(
        Message::from_xml(
            "<xml><ToUserName>t</ToUserName><FromUserName></FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"
        ),
        Err(ParseError::NotAnOpenId(NotAnOpenId::Empty))
    );
    assert_eq!(
        Message::from_json(
            r#"{"ToUserName":"t","FromUserName":"f","CreateTime":"soon","MsgType":"text"}"#
        ),
        Err(ParseError::NotAnInteger("CreateTime"))
    );
    assert_eq!(
        Message::from_xml(
            "<xml><ToUserName>t</ToUserName><FromUserName>f</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>"
        ),
        Err(ParseError::MissingField("Event"))
    );
}

#[test]
fn format_is_sniffed_from_the_first_non_blank_byte() {
    assert_eq!(Format::sniff("  <xml/>"), Some(Format::Xml));
    assert_eq!(Format::sniff("\n{}"), Some(Format::Json));
    assert_eq!(Format::sniff("success"), None);
    assert_eq!(Format::sniff(""), None);
}

#[test]
fn messages_round_trip_through_their_job_serialisation() {
    let m = Message::from_json(
        r#"{"ToUserName":"t","FromUserName":"f","CreateTime":1,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"s"}"#,
    )
    .unwrap();
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), m);
}
