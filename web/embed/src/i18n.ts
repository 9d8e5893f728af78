// Every text the page shows, in Vietnamese (default) and English.
import { TranslatableString, englishStringTranslator } from '@rjsf/utils';

import type { Lang } from './config.ts';

const vi = {
  pageTitle: 'Khảo sát nhu cầu hỗ trợ khuyến công',
  intro:
    'Cơ sở tự kê khai thông tin và nhu cầu hỗ trợ. Câu có dấu * là bắt buộc. Thông tin được gửi tới Sở Công Thương {province}.',
  language: 'Ngôn ngữ',
  facilityTitle: 'Thông tin cơ sở',
  facilityNote:
    'Nếu cơ sở đã có mã số thuế, hãy nhập: cơ sở đã đăng ký trước đây sẽ được nhận ra theo mã số thuế.',
  facilityKnown: 'Các phiếu tiếp theo được ghi cho cơ sở vừa kê khai: {name}.',
  chooseQuestionnaire: 'Chọn phiếu khảo sát',
  submitted: 'đã gửi',
  submit: 'Gửi phiếu',
  sending: 'Đang gửi…',
  retry: 'Gửi lại',
  errorSummary: 'Còn {n} câu trả lời cần xem lại:',
  serverRejected: 'Máy chủ chưa nhận phiếu: còn {n} câu trả lời cần sửa (đã đánh dấu bên dưới). Những gì đã nhập vẫn được giữ nguyên.',
  unknownOutcome:
    'Mất kết nối trước khi máy chủ trả lời, nên chưa chắc phiếu đã đến nơi. Bấm “Gửi lại”: phiếu sẽ không bị ghi trùng.',
  retrying: 'Mất kết nối, đang thử gửi lại (lần {n})…',
  rateLimited: 'Có quá nhiều lượt gửi từ biểu mẫu này. Vui lòng thử lại sau {s} giây; những gì đã nhập vẫn được giữ nguyên.',
  conflict: 'Phiếu này đã được gửi trước đó với nội dung khác. Bấm “Gửi phiếu” để gửi thành một phiếu mới.',
  tooLarge: 'Phiếu quá dài để gửi. Hãy rút gọn các câu trả lời dạng văn bản.',
  failed: 'Máy chủ chưa nhận được phiếu ({detail}). Những gì đã nhập vẫn được giữ nguyên; vui lòng thử lại.',
  receiptTitle: 'Đã nhận phiếu “{title}”',
  receiptBody: 'Cảm ơn cơ sở đã kê khai. Mã phiếu (lưu lại để đối chiếu khi cần):',
  receiptAt: 'Thời điểm máy chủ nhận: {at}',
  anotherEstablishment: 'Kê khai cho một cơ sở khác',
  allDone: 'Cơ sở đã gửi tất cả các phiếu của biểu mẫu này. Cảm ơn!',
  linkRevoked:
    'Đường dẫn biểu mẫu này đã bị thu hồi nên không nhận thêm phiếu. Vui lòng liên hệ Sở Công Thương để nhận đường dẫn mới.',
  linkExpired:
    'Đường dẫn biểu mẫu này đã hết hạn nên không nhận thêm phiếu. Vui lòng liên hệ Sở Công Thương để nhận đường dẫn mới.',
  linkExhausted:
    'Biểu mẫu này đã nhận đủ số phiếu cho phép nên không nhận thêm phiếu. Vui lòng liên hệ Sở Công Thương nếu cần kê khai thêm.',
  linkUnknown:
    'Không tìm thấy biểu mẫu này: đường dẫn có thể bị sai hoặc đã bị thu hồi. Vui lòng liên hệ Sở Công Thương.',
  keptNote: 'Những gì đã nhập vẫn còn trên trang này.',
  keptHow:
    'Các câu trả lời bên dưới chỉ để xem và sao chép. Bấm “Sao chép” để chép tất cả, rồi dán vào tin nhắn hoặc thư gửi Sở Công Thương, hoặc giữ lại để nhập khi có đường dẫn mới.',
  keptTitle: 'Những gì đã nhập',
  keptHeading: 'Khảo sát nhu cầu hỗ trợ khuyến công: câu trả lời của cơ sở (chưa gửi được)',
  copyAll: 'Sao chép',
  copied: 'Đã sao chép tất cả câu trả lời.',
  copyFailed: 'Trình duyệt không cho sao chép tự động; hãy bôi đen phần chữ bên dưới rồi sao chép.',
  taxCodeElsewhere:
    'Máy chủ chưa nhận phiếu: mã số thuế {tax} đã được đăng ký cho một cơ sở ở tỉnh khác, nên không kê khai được qua biểu mẫu của {province}. Cơ sở có thể:',
  taxStepCheck: 'Kiểm tra lại mã số thuế: nếu gõ nhầm, sửa lại rồi bấm “Gửi phiếu”.',
  taxStepContact:
    'Nếu mã số thuế đúng (ví dụ cơ sở đã chuyển trụ sở về {province}), liên hệ Sở Công Thương {province} để được cập nhật thông tin cơ sở, rồi gửi lại phiếu.',
  taxStepKept: 'Những gì đã nhập vẫn được giữ nguyên; bấm “Sao chép” để chép lại tất cả câu trả lời.',
  searchLabel: 'Tìm xã, phường theo tên',
  searchPlaceholder: 'Gõ tên để tìm (không dấu cũng được), ví dụ: duc trong',
  searchFound: 'Có {n} kết quả trong danh sách bên dưới.',
  searchNone: 'Không có xã, phường nào có tên như vậy.',
  clearAnswer: 'Bỏ chọn',
  choose: '— Chọn —',
  moneyMillion: '{n} triệu đồng',
  moneyBillion: '{n} tỷ đồng',
  // messages for answers (client validation and the server's error codes)
  e_required: 'Câu này bắt buộc trả lời.',
  e_required_multi: 'Hãy chọn ít nhất một lựa chọn.',
  e_integer: 'Hãy nhập một số nguyên, chỉ gồm chữ số (ví dụ 500000000 hoặc 500.000.000).',
  e_number: 'Hãy nhập một số (phần thập phân viết sau dấu phẩy, ví dụ 12,5).',
  e_min: 'Giá trị nhỏ nhất là {n}.',
  e_max: 'Giá trị lớn nhất là {n}.',
  e_min_excl: 'Giá trị phải lớn hơn {n}.',
  e_max_excl: 'Giá trị phải nhỏ hơn {n}.',
  e_min_length: 'Cần ít nhất {n} ký tự.',
  e_max_length: 'Tối đa {n} ký tự (hiện có {m}).',
  e_pattern: 'Chưa đúng dạng yêu cầu.',
  e_url: 'Hãy nhập địa chỉ đầy đủ, bắt đầu bằng http:// hoặc https:// (ví dụ https://coso.vn).',
  e_tax_code: 'Mã số thuế gồm 10 chữ số, hoặc 13 chữ số với mã chi nhánh (ví dụ 0101234567-001).',
  e_date: 'Hãy nhập một ngày có thật (ngày/tháng/năm).',
  e_choice: 'Hãy chọn một trong các lựa chọn đã cho.',
  e_duplicate: 'Mỗi lựa chọn chỉ được chọn một lần.',
  e_not_relevant: 'Câu này không áp dụng với các câu trả lời khác; hãy bỏ trống.',
  e_text: 'Hãy nhập văn bản.',
  e_boolean: 'Hãy chọn Có hoặc Không.',
  e_unknown_ward: 'Xã/phường này không thuộc tỉnh của biểu mẫu; hãy chọn lại.',
  e_out_of_scope: 'Mã số thuế này đã được đăng ký ở tỉnh khác, không thể kê khai qua biểu mẫu này.',
  e_future_year: 'Năm không được ở tương lai.',
  e_other: 'Câu trả lời chưa hợp lệ.',
  // locations, photos and files
  geoUseMine: 'Lấy vị trí hiện tại',
  geoLocating: 'Đang lấy vị trí…',
  geoFailed: 'Không lấy được vị trí ({detail}). Hãy nhập vĩ độ và kinh độ (xem trên bản đồ điện thoại).',
  geoDenied: 'Trình duyệt không cho trang lấy vị trí. Hãy nhập vĩ độ và kinh độ (xem trên bản đồ điện thoại).',
  geoHint: 'Số thập phân, ví dụ vĩ độ 11,9404 và kinh độ 108,4583.',
  fileChoose: 'Chọn tệp',
  filePhoto: 'Chụp hoặc chọn ảnh',
  filePhotoOther: 'Chọn ảnh khác',
  fileChooseOther: 'Chọn tệp khác',
  fileChosen: 'Đã chọn: {name} ({size})',
  fileRemove: 'Bỏ tệp',
  fileTooBig: 'Tệp {name} lớn quá {max}; hãy chọn tệp nhỏ hơn (hoặc chụp ảnh với độ phân giải thấp hơn).',
  fileWrongType: 'Tệp {name} không đúng loại; câu này nhận: {accept}.',
  fileEmpty: 'Tệp {name} trống.',
  uploading: 'Đang gửi {n} tệp đính kèm…',
  uploaded: 'Đã gửi {n} tệp đính kèm.',
  uploadFailed: 'Chưa gửi được tệp: {names}. Phiếu đã được lưu; bấm “Gửi lại tệp” để thử lại.',
  uploadLost: 'Tệp {names} không còn trên trang (trang đã được tải lại) nên chưa gửi được. Phiếu đã được lưu; vui lòng liên hệ Sở Công Thương để bổ sung.',
  uploadRetry: 'Gửi lại tệp',
  e_geopoint: 'Vĩ độ từ -90 đến 90, kinh độ từ -180 đến 180, độ chính xác không âm.',
  e_file_name: 'Tên tệp không hợp lệ; hãy chọn lại tệp.',
  e_exclusive: 'Lựa chọn này không đi cùng các lựa chọn khác; hãy chỉ chọn nó, hoặc bỏ chọn nó.',
  e_file_missing: 'Hãy chọn lại tệp.',
  yes: 'Có',
  no: 'Không',
  noscript: 'Trang này cần JavaScript để hiển thị biểu mẫu.',
};

type Strings = typeof vi;

const en: Strings = {
  pageTitle: 'Industrial-extension needs survey',
  intro:
    'Establishments report their own details and support needs. Questions marked * are required. Your answers go to the Department of Industry and Trade of {province}.',
  language: 'Language',
  facilityTitle: 'About the establishment',
  facilityNote: 'If the establishment has a tax code, enter it: an establishment registered before is recognised by it.',
  facilityKnown: 'Further questionnaires are recorded for the establishment just registered: {name}.',
  chooseQuestionnaire: 'Choose a questionnaire',
  submitted: 'sent',
  submit: 'Send',
  sending: 'Sending…',
  retry: 'Send again',
  errorSummary: '{n} answer(s) need another look:',
  serverRejected:
    'The server did not accept the questionnaire: {n} answer(s) need fixing (marked below). Everything you typed is kept.',
  unknownOutcome:
    'The connection dropped before the server answered, so it is not certain the questionnaire arrived. Press “Send again”: it will never be recorded twice.',
  retrying: 'Connection lost, sending again (attempt {n})…',
  rateLimited: 'Too many submissions from this form. Please try again in {s} seconds; everything you typed is kept.',
  conflict: 'This questionnaire was sent before with different content. Press “Send” to send it as a new one.',
  tooLarge: 'The questionnaire is too long to send. Please shorten the text answers.',
  failed: 'The server did not receive the questionnaire ({detail}). Everything you typed is kept; please try again.',
  receiptTitle: '“{title}” received',
  receiptBody: 'Thank you. The response id (keep it for reference):',
  receiptAt: 'Received by the server at {at}',
  anotherEstablishment: 'Report for another establishment',
  allDone: 'Every questionnaire of this form has been sent. Thank you!',
  linkRevoked: 'This form link has been revoked and takes no more submissions. Please ask the Department of Industry and Trade for a new link.',
  linkExpired: 'This form link has expired and takes no more submissions. Please ask the Department of Industry and Trade for a new link.',
  linkExhausted:
    'This form has received all the submissions it allows. Please contact the Department of Industry and Trade if you need to report more.',
  linkUnknown: 'This form was not found: the link may be wrong or revoked. Please contact the Department of Industry and Trade.',
  keptNote: 'Everything you typed is still on this page.',
  keptHow:
    'The answers below are for reading and copying only. Press “Copy” to copy them all, then paste them into a message or e-mail to the Department of Industry and Trade, or keep them to enter once you have a new link.',
  keptTitle: 'What you typed',
  keptHeading: 'Industrial-extension needs survey: the establishment’s answers (not sent)',
  copyAll: 'Copy',
  copied: 'All the answers are copied.',
  copyFailed: 'The browser does not allow copying here; select the text below and copy it.',
  taxCodeElsewhere:
    'The server did not accept the questionnaire: tax code {tax} is registered to an establishment of another province, so it cannot be reported through the form of {province}. The establishment can:',
  taxStepCheck: 'Check the tax code: if it was mistyped, correct it and press “Send”.',
  taxStepContact:
    'If the tax code is right (the establishment moved to {province}, for instance), ask the Department of Industry and Trade of {province} to update the establishment’s record, then send again.',
  taxStepKept: 'Everything you typed is kept; press “Copy” to copy all the answers.',
  searchLabel: 'Find a commune or ward by name',
  searchPlaceholder: 'Type to search (accents optional), e.g. duc trong',
  searchFound: '{n} match(es) in the list below.',
  searchNone: 'No commune or ward has such a name.',
  clearAnswer: 'Clear',
  choose: '— Choose —',
  moneyMillion: '{n} million VND',
  moneyBillion: '{n} billion VND',
  e_required: 'This question needs an answer.',
  e_required_multi: 'Choose at least one option.',
  e_integer: 'Enter a whole number, digits only (e.g. 500000000 or 500,000,000).',
  e_number: 'Enter a number (e.g. 12.5).',
  e_min: 'The smallest allowed value is {n}.',
  e_max: 'The largest allowed value is {n}.',
  e_min_excl: 'The value must be more than {n}.',
  e_max_excl: 'The value must be less than {n}.',
  e_min_length: 'At least {n} characters.',
  e_max_length: 'At most {n} characters (now {m}).',
  e_pattern: 'This does not have the expected form.',
  e_url: 'Enter a full address starting with http:// or https:// (e.g. https://example.vn).',
  e_tax_code: 'A tax code has 10 digits, or 13 with a branch number (e.g. 0101234567-001).',
  e_date: 'Enter a real date.',
  e_choice: 'Choose one of the options given.',
  e_duplicate: 'Each option may be chosen once.',
  e_not_relevant: 'This question does not apply given the other answers; leave it empty.',
  e_text: 'Enter text.',
  e_boolean: 'Choose Yes or No.',
  e_unknown_ward: 'This ward is not in the province of this form; choose again.',
  e_out_of_scope: 'This tax code is registered in another province and cannot be reported through this form.',
  e_future_year: 'The year cannot be in the future.',
  e_other: 'This answer is not valid.',
  geoUseMine: 'Use my location',
  geoLocating: 'Finding the location…',
  geoFailed: 'The location could not be found ({detail}). Enter the latitude and longitude (see a map app on the phone).',
  geoDenied: 'The browser does not let this page read the location. Enter the latitude and longitude (see a map app on the phone).',
  geoHint: 'Decimal numbers, e.g. latitude 11.9404 and longitude 108.4583.',
  fileChoose: 'Choose a file',
  filePhoto: 'Take or choose a photo',
  filePhotoOther: 'Choose another photo',
  fileChooseOther: 'Choose another file',
  fileChosen: 'Chosen: {name} ({size})',
  fileRemove: 'Remove the file',
  fileTooBig: '{name} is larger than {max}; choose a smaller file (or take the photo at a lower resolution).',
  fileWrongType: '{name} is not of an accepted type; this question takes: {accept}.',
  fileEmpty: '{name} is empty.',
  uploading: 'Sending {n} attached file(s)…',
  uploaded: '{n} attached file(s) sent.',
  uploadFailed: 'Not sent yet: {names}. The questionnaire is stored; press “Send the files again” to retry.',
  uploadLost: '{names} is no longer on the page (it was reloaded), so it was not sent. The questionnaire is stored; please contact the Department of Industry and Trade to add it.',
  uploadRetry: 'Send the files again',
  e_geopoint: 'Latitude between -90 and 90, longitude between -180 and 180, accuracy not negative.',
  e_file_name: 'This file name cannot be used; choose the file again.',
  e_exclusive: 'This option cannot go with the others; choose it alone, or untick it.',
  e_file_missing: 'Choose the file again.',
  yes: 'Yes',
  no: 'No',
  noscript: 'This page needs JavaScript to show the form.',
};

export type MessageKey = keyof Strings;

const TABLES: Record<Lang, Strings> = { vi, en };

export function makeT(lang: Lang) {
  const table = TABLES[lang];
  return (key: MessageKey, params: Record<string, string | number> = {}): string =>
    table[key].replace(/\{(\w+)\}/g, (_, name: string) => (name in params ? String(params[name]) : `{${name}}`));
}

export type T = ReturnType<typeof makeT>;

/** Vietnamese groups thousands with "." and writes decimals with ","; English the other way round. */
export function formatNumber(n: number, lang: Lang): string {
  return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 6 }).format(n);
}

export function formatDateTime(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'medium',
  }).format(d);
}

/** RJSF's own strings (Yes/No of booleans without ui:enumNames, the error list heading, ...). */
export function rjsfTranslator(lang: Lang) {
  const t = makeT(lang);
  return (s: TranslatableString, params?: string[]): string => {
    if (lang === 'vi') {
      switch (s) {
        case TranslatableString.YesLabel:
          return t('yes');
        case TranslatableString.NoLabel:
          return t('no');
        case TranslatableString.ErrorsLabel:
          return 'Lỗi';
        case TranslatableString.ClearButton:
          return t('clearAnswer');
        default:
          break;
      }
    }
    return englishStringTranslator(s, params);
  };
}
